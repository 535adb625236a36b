package main

import (
	"github.com/spf13/pflag"
)

// fromEnv is --from-repo's environment variable (env.go).
const fromEnv = envPrefix + "FROM_REPO"

// registerSource adds the object-store flags of a second repository, the
// source of `copy`: --from-s3-endpoint and the like. They are the
// source's own: one left out takes its default, not the destination's
// flag. Credentials come from the same environment variables and files
// as the destination's.
func (s *storeFlags) registerSource(f *pflag.FlagSet) {
	s.flags, s.prefix = f, "from-"
	f.StringVar(&s.opts.S3.Endpoint, "from-s3-endpoint", "", "URL of an S3-compatible server for an s3:// source repository (default: AWS)")
	f.StringVar(&s.opts.S3.Region, "from-s3-region", "", "region of the source's S3 bucket (default: AWS_REGION, the AWS profile's, or us-east-1)")
	f.BoolVar(&s.pathStyle, "from-s3-path-style", false, "address the source's S3 bucket as ENDPOINT/BUCKET (default: on with --from-s3-endpoint)")
	f.StringVar(&s.opts.GCS.CredentialsFile, "from-gcs-credentials", "", "service account JSON key file for a gs:// source repository (default: application default credentials)")
	f.StringVar(&s.opts.GCS.Endpoint, "from-gcs-endpoint", "", "URL of a GCS-compatible server for a gs:// source repository (default: Google)")
	f.StringVar(&s.opts.Azure.Endpoint, "from-azure-endpoint", "", "blob service URL for an azure:// source repository (default: https://$AZURE_STORAGE_ACCOUNT.blob.core.windows.net)")
}

// fromURL is the source repository that --from-repo (or its variable) names.
func fromURL(flag string) (string, error) {
	if flag == "" {
		return "", usagef("no source repository given: use --from-repo PATH or set %s", fromEnv)
	}
	return flag, nil
}

// fromPasswordEnv holds the source repository's password for `copy`.
const fromPasswordEnv = envPrefix + "FROM_PASSWORD"

// registerSource adds the flags that open an encrypted source repository
// of `copy`: its own password (file or variable) or key file, never the
// destination's.
func (c *credFlags) registerSource(f *pflag.FlagSet) {
	c.env = fromPasswordEnv
	f.StringVar(&c.passwordFile, "from-password-file", "", "file holding the password of an encrypted source repository (or "+fromPasswordEnv+"; asked on a terminal)")
	f.StringVar(&c.keyFile, "from-key-file", "", "key file of an encrypted source repository, instead of a password")
}
