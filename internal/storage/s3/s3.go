// Package s3 opens a repository in an S3 bucket, on AWS or any S3-compatible
// server, through gocloud.dev/blob and the AWS SDK.
package s3

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager"
	tmtypes "github.com/aws/aws-sdk-go-v2/feature/s3/transfermanager/types"
	awss3 "github.com/aws/aws-sdk-go-v2/service/s3"
	"github.com/aws/aws-sdk-go-v2/service/s3/types"
	"github.com/aws/smithy-go"
	"github.com/aws/smithy-go/logging"
	"gocloud.dev/blob/s3blob"

	"github.com/banyan-backup/banyan-backup/internal/storage"
	"github.com/banyan-backup/banyan-backup/internal/storage/blobstore"
	"github.com/banyan-backup/banyan-backup/internal/storage/idleconn"
)

// Options configures the S3 client. Credentials come from the standard AWS
// chain: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN,
// AWS_PROFILE and the shared config files, web identity, container and
// instance roles.
type Options struct {
	// Endpoint is the URL of an S3-compatible server; "" for AWS.
	Endpoint string
	// Region is the bucket's region; "" takes AWS_REGION or the profile's,
	// and us-east-1 when neither is set.
	Region string
	// StorageClass is set on every object written ("" for the bucket's
	// default), e.g. STANDARD_IA.
	StorageClass string
	// PathStyle addresses buckets as ENDPOINT/BUCKET rather than
	// BUCKET.ENDPOINT; nil means path style when Endpoint is set.
	PathStyle *bool
	// SinglePutMax is the largest object sent in one PUT; PartSize and
	// Concurrency tune the multipart uploads of larger ones (0: the
	// defaults).
	SinglePutMax int64
	PartSize     int
	Concurrency  int
	// IdleTimeout fails a request whose connection has moved no byte
	// either way for this long, so that a cut link fails it (and its
	// retries) in bounded time; 0 means idleconn.DefaultTimeout.
	IdleTimeout time.Duration
}

// Open returns the backend for s3://bucket/prefix and checks that the bucket
// is there and the credentials may use it.
func Open(ctx context.Context, bucket, prefix string, o Options) (*Backend, error) {
	location := "s3://" + bucket
	if prefix != "" {
		location += "/" + prefix
	}
	loadOpts := []func(*config.LoadOptions) error{
		// Retries are the retry wrapper's job: one policy for every store.
		config.WithRetryMaxAttempts(1),
		// A library prints nothing; errors say what went wrong.
		config.WithLogger(logging.Nop{}),
		config.WithHTTPClient(awshttp.NewBuildableClient().WithTransportOptions(func(tr *http.Transport) {
			d := &net.Dialer{Timeout: awshttp.DefaultDialConnectTimeout, KeepAlive: awshttp.DefaultDialKeepAliveTimeout}
			tr.DialContext = idleconn.DialContext(d, o.IdleTimeout)
		})),
	}
	if o.Region != "" {
		loadOpts = append(loadOpts, config.WithRegion(o.Region))
	}
	cfg, err := config.LoadDefaultConfig(ctx, loadOpts...)
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: cannot load the AWS configuration: %w", location, err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	pathStyle := o.Endpoint != ""
	if o.PathStyle != nil {
		pathStyle = *o.PathStyle
	}
	client := awss3.NewFromConfig(cfg, func(so *awss3.Options) {
		if o.Endpoint != "" {
			so.BaseEndpoint = aws.String(o.Endpoint)
		}
		so.UsePathStyle = pathStyle
		so.Retryer = aws.NopRetryer{}
		// Multipart objects carry no whole-object checksum to check on
		// reading; the repository checks every pack's hash itself.
		so.DisableLogOutputChecksumValidationSkipped = true
	})
	bkt, err := s3blob.OpenBucket(ctx, client, bucket, nil)
	if err != nil {
		return nil, fmt.Errorf("cannot open %s: %w", location, err)
	}
	bo := blobstore.Options{
		Location:    location,
		PartSize:    o.PartSize,
		Concurrency: o.Concurrency,
		Classify:    classify,
	}
	if o.StorageClass != "" {
		class := tmtypes.StorageClass(strings.ToUpper(o.StorageClass))
		bo.BeforeWrite = func(as func(any) bool) error {
			var in *transfermanager.UploadObjectInput
			if as(&in) {
				in.StorageClass = class
			}
			return nil
		}
	}
	prefix = strings.Trim(prefix, "/")
	be := &Backend{
		Backend:      blobstore.New(bkt, prefix, bo),
		client:       client,
		bucket:       bucket,
		storageClass: types.StorageClass(strings.ToUpper(o.StorageClass)),
		singleMax:    o.SinglePutMax,
		partSize:     int64(o.PartSize),
		concurrency:  o.Concurrency,
	}
	if prefix != "" {
		be.prefix = prefix + "/"
	}
	if be.singleMax <= 0 {
		be.singleMax = DefaultSinglePutMax
	}
	if be.partSize <= 0 {
		be.partSize = DefaultPartSize
	}
	if be.concurrency <= 0 {
		be.concurrency = DefaultConcurrency
	}
	if err := be.Check(ctx); err != nil {
		_ = be.Close()
		return nil, err
	}
	return be, nil
}

// classify maps S3 error codes that gocloud.dev leaves unknown.
func classify(err error) error {
	var ae smithy.APIError
	if errors.As(err, &ae) {
		switch ae.ErrorCode() {
		case "NoSuchBucket":
			return storage.ErrBucketNotFound
		case "InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "Forbidden",
			"InvalidToken", "ExpiredToken", "InvalidSecurity", "AuthorizationHeaderMalformed":
			return storage.ErrPermission
		case "PreconditionFailed", "ConditionalRequestConflict":
			return storage.ErrExists
		case "SlowDown", "RequestTimeout", "InternalError", "ServiceUnavailable":
			return storage.ErrTransient
		}
	}
	var re interface{ HTTPStatusCode() int }
	if errors.As(err, &re) {
		return blobstore.HTTPStatus(re.HTTPStatusCode())
	}
	return nil
}
