package main

import (
	"time"

	"github.com/spf13/pflag"

	"github.com/banyan-backup/banyan-backup/internal/storage/backends"
	"github.com/banyan-backup/banyan-backup/internal/storage/idleconn"
)

// storeFlags are the global flags of the object-store backends. Secrets
// never come from flags (they would show in the process list): they come
// from the vendors' environment variables and credential files.
type storeFlags struct {
	opts      backends.Options
	pathStyle bool
	// idle and s3Idle are --storage-idle-timeout and the deprecated
	// --s3-idle-timeout, global flags (not a copy source's own).
	idle, s3Idle time.Duration
	flags        *pflag.FlagSet
	prefix       string // of the flags' names: "" or "from-" (fromflags.go)
}

func (s *storeFlags) register(pf *pflag.FlagSet) {
	s.flags = pf
	pf.StringVar(&s.opts.S3.Endpoint, "s3-endpoint", "", "URL of an S3-compatible server for s3:// repositories (default: AWS)")
	pf.StringVar(&s.opts.S3.Region, "s3-region", "", "region of the S3 bucket (default: AWS_REGION, the AWS profile's, or us-east-1)")
	pf.StringVar(&s.opts.S3.StorageClass, "s3-storage-class", "", "S3 storage class of the objects written, e.g. STANDARD_IA (default: the bucket's)")
	pf.DurationVar(&s.idle, "storage-idle-timeout", idleconn.DefaultTimeout, "fail an object store's request whose connection moves no byte for this long (a cut link), so that it is retried on a new one")
	pf.DurationVar(&s.s3Idle, "s3-idle-timeout", idleconn.DefaultTimeout, "the same as --storage-idle-timeout")
	_ = pf.MarkDeprecated("s3-idle-timeout", "use --storage-idle-timeout, which applies to every object store")
	pf.BoolVar(&s.pathStyle, "s3-path-style", false, "address S3 buckets as ENDPOINT/BUCKET (default: on with --s3-endpoint); S3 credentials: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_PROFILE or the instance role")
	pf.StringVar(&s.opts.GCS.CredentialsFile, "gcs-credentials", "", "service account JSON key file for gs:// repositories (default: application default credentials)")
	pf.StringVar(&s.opts.GCS.Endpoint, "gcs-endpoint", "", "URL of a GCS-compatible server for gs:// repositories (default: Google)")
	pf.StringVar(&s.opts.Azure.Endpoint, "azure-endpoint", "", "blob service URL for azure:// repositories (default: https://$AZURE_STORAGE_ACCOUNT.blob.core.windows.net); credentials: AZURE_STORAGE_KEY, AZURE_STORAGE_SAS_TOKEN or AZURE_STORAGE_CONNECTION_STRING")
}

// options are the object stores' options the flags set.
func (s *storeFlags) options() backends.Options {
	o := s.opts
	if s.flags != nil && s.flags.Changed(s.prefix+"s3-path-style") {
		o.S3.PathStyle = &s.pathStyle
	}
	return withIdleTimeout(o, s.idleTimeout())
}

// idleTimeout is --storage-idle-timeout, or --s3-idle-timeout when only
// that is given (on the command line or in the environment).
func (s *storeFlags) idleTimeout() time.Duration {
	if s.flags != nil && s.flags.Changed("s3-idle-timeout") && !s.flags.Changed("storage-idle-timeout") {
		return s.s3Idle
	}
	return s.idle
}

// withIdleTimeout returns o with d the idle timeout of every object store.
func withIdleTimeout(o backends.Options, d time.Duration) backends.Options {
	o.S3.IdleTimeout, o.GCS.IdleTimeout, o.Azure.IdleTimeout = d, d, d
	return o
}
