// Package cloudtest finds the object-storage test servers that
// scripts/test-servers.sh starts (through the BANYAN_TEST_* variables it
// writes) and makes fresh buckets on them. A test whose server is not
// configured is skipped, and fails when CI=true.
package cloudtest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"
	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"google.golang.org/api/option"
	gcsapi "google.golang.org/api/storage/v1"
)

// Env returns the values of the named variables, skipping the test when one
// is unset (failing it when CI=true: CI must run every server).
func Env(t testing.TB, names ...string) []string {
	t.Helper()
	vals := make([]string, len(names))
	for i, n := range names {
		vals[i] = os.Getenv(n)
		if vals[i] == "" {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s is not set: run the tests with scripts/test.sh, which starts the test servers (scripts/test-servers.sh)", n)
			}
			t.Skipf("%s is not set: start the test servers with scripts/test-servers.sh start DIR and source DIR/env", n)
		}
	}
	return vals
}

// S3Server is the S3 test server.
type S3Server struct{ Endpoint, AccessKey, SecretKey string }

// S3 returns the S3 test server.
func S3(t testing.TB) S3Server {
	v := Env(t, "BANYAN_TEST_S3_ENDPOINT", "BANYAN_TEST_S3_ACCESS_KEY", "BANYAN_TEST_S3_SECRET_KEY")
	return S3Server{v[0], v[1], v[2]}
}

// VersityGW returns the path of the versitygw binary that the test
// servers' script installs, for a test that runs an S3 server of its own
// (on a test host of its own, say).
func VersityGW(t testing.TB) string {
	return Env(t, "BANYAN_TEST_VERSITYGW")[0]
}

// Client returns an SDK client for the server.
func (s S3Server) Client() *awss3.Client {
	return awss3.New(awss3.Options{
		Region:       "us-east-1",
		BaseEndpoint: aws.String(s.Endpoint),
		UsePathStyle: true,
		Credentials:  credentials.NewStaticCredentialsProvider(s.AccessKey, s.SecretKey, ""),
	})
}

// NewBucket creates an empty bucket for the test.
func (s S3Server) NewBucket(t testing.TB) string {
	t.Helper()
	name := bucketName()
	_, err := s.Client().CreateBucket(context.Background(), &awss3.CreateBucketInput{Bucket: aws.String(name)})
	if err != nil {
		t.Fatalf("cannot create bucket %s on %s: %v", name, s.Endpoint, err)
	}
	return name
}

// GCS returns the endpoint of the GCS test server.
func GCS(t testing.TB) string {
	return Env(t, "BANYAN_TEST_GCS_ENDPOINT")[0]
}

// NewGCSBucket creates an empty bucket on the GCS test server.
func NewGCSBucket(t testing.TB, endpoint string) string {
	t.Helper()
	ctx := context.Background()
	svc, err := gcsapi.NewService(ctx, option.WithEndpoint(endpoint+"/storage/v1/"), option.WithoutAuthentication())
	if err != nil {
		t.Fatalf("cannot connect to %s: %v", endpoint, err)
	}
	name := bucketName()
	if _, err := svc.Buckets.Insert("test-project", &gcsapi.Bucket{Name: name}).Context(ctx).Do(); err != nil {
		t.Fatalf("cannot create bucket %s on %s: %v", name, endpoint, err)
	}
	return name
}

// AzureServer is the Azure blob test server (Azurite).
type AzureServer struct{ Endpoint, Account, Key string }

// Azure returns the Azure test server.
func Azure(t testing.TB) AzureServer {
	v := Env(t, "BANYAN_TEST_AZURE_ENDPOINT", "BANYAN_TEST_AZURE_ACCOUNT", "BANYAN_TEST_AZURE_KEY")
	return AzureServer{v[0], v[1], v[2]}
}

// NewContainer creates an empty container for the test.
func (a AzureServer) NewContainer(t testing.TB) string {
	t.Helper()
	name := bucketName()
	cred, err := container.NewSharedKeyCredential(a.Account, a.Key)
	if err != nil {
		t.Fatal(err)
	}
	c, err := container.NewClientWithSharedKeyCredential(a.Endpoint+"/"+name, cred, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := c.Create(context.Background(), nil); err != nil {
		t.Fatalf("cannot create container %s on %s: %v", name, a.Endpoint, err)
	}
	return name
}

// bucketName returns a random valid bucket or container name.
func bucketName() string {
	return fmt.Sprintf("banyan-test-%016x", rand.Uint64())
}
