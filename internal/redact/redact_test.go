package redact

import (
	"strings"
	"testing"
)

func TestURL(t *testing.T) {
	for in, want := range map[string]string{
		"/srv/repo":                                    "/srv/repo",
		"s3://bucket/prefix":                           "s3://bucket/prefix",
		"s3://AKIA:verysecret@bucket/prefix":           "s3://redacted@bucket/prefix",
		"s3://USERONLY@bucket/prefix":                  "s3://redacted@bucket/prefix",
		"s3://bucket/p?region=eu&secret_key=abc":       "s3://bucket/p?region=redacted&secret_key=redacted",
		"azure://acct/c?sig=xyz&sv=2024":               "azure://acct/c?sig=redacted&sv=redacted",
		"gs://bucket/p?credentials_file=/etc/key.json": "gs://bucket/p?credentials_file=redacted",
		"s3://bucket/p#FRAGMENT":                       "s3://bucket/p#redacted",
		// url.Parse refuses these; they are redacted all the same.
		"s3://KEY:SEC/RET@host/bucket?x=1#f": "s3://redacted@host/bucket?x=redacted#redacted",
		"s3://bad host/%zz?secret=QSECRET":   "s3://bad host/%zz?secret=redacted",
	} {
		if got := URL(in); got != want {
			t.Errorf("URL(%q) = %q, want %q", in, got, want)
		}
	}
}

// A Redactor hides a URL's secrets wherever a message quotes them, as
// written or encoded, and the credentials of any URL an SDK echoes.
func TestRedactorString(t *testing.T) {
	r := New("s3://AKIAUSER:PW%2FSECRET@bucket/p?access_key=QSECRET&x=OTHERVALUE#FRAGSECRET", "/a/plain/path")
	r.AddEnv(func(k string) string {
		return map[string]string{
			"AZURE_STORAGE_SAS_TOKEN":         "?sv=2024-01-01&sig=ENVSIGNATURE",
			"AZURE_STORAGE_CONNECTION_STRING": "AccountName=a;AccountKey=CONNKEY==;BlobEndpoint=http://x",
			"AWS_SECRET_ACCESS_KEY":           "AWSSECRETKEY",
		}[k]
	})
	msg := strings.Join([]string{
		`cannot parse "s3://AKIAUSER:PW%2FSECRET@bucket/p?access_key=QSECRET&x=OTHERVALUE#FRAGSECRET"`,
		`the password PW/SECRET, the value OTHERVALUE, the fragment FRAGSECRET`,
		`Get "http://EPUSER:***@127.0.0.1:1/?comp=list&sig=SIGSECRET&sig=ENVSIGNATURE&sv=2024-01-01": refused`,
		"endpoint `https://host/?X-Amz-Signature=AMZSIG&prefix=p%2F` with key CONNKEY== and AWSSECRETKEY",
	}, "\n")
	got := r.String(msg)
	for _, secret := range []string{"AKIAUSER", "PW%2FSECRET", "PW/SECRET", "QSECRET", "OTHERVALUE", "FRAGSECRET",
		"EPUSER", "SIGSECRET", "ENVSIGNATURE", "AMZSIG", "CONNKEY", "AWSSECRETKEY"} {
		if strings.Contains(got, secret) {
			t.Errorf("%s is shown:\n%s", secret, got)
		}
	}
	for _, kept := range []string{"127.0.0.1:1/?comp=list", "sv=2024-01-01", "prefix=p%2F"} {
		if !strings.Contains(got, kept) {
			t.Errorf("%q is lost:\n%s", kept, got)
		}
	}
	var nilR *Redactor
	if got := nilR.String("http://u:p@h/x"); got != "http://redacted@h/x" {
		t.Errorf("nil Redactor: %q", got)
	}
}

func TestSecretName(t *testing.T) {
	for name, want := range map[string]bool{
		"sig": true, "X-Amz-Signature": true, "X-Amz-Credential": true, "X-Amz-Security-Token": true,
		"access_key": true, "AccountKey": true, "secret": true, "password": true, "api-key": true, "session": true,
		"max-keys": false, "prefix": false, "list-type": false, "sv": false, "comp": false, "region": false,
	} {
		if got := secretName(name); got != want {
			t.Errorf("secretName(%q) = %v, want %v", name, got, want)
		}
	}
}
