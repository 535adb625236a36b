package main

import (
	"io"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/banyan-backup/banyan-backup/internal/storage/idleconn"
)

// TestIdleTimeoutFlags: --storage-idle-timeout is every object store's
// idle timeout; the deprecated --s3-idle-timeout and its variable still
// set it when the new flag is not given.
func TestIdleTimeoutFlags(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		env  string // BANYAN_BACKUP_S3_IDLE_TIMEOUT
		want time.Duration
	}{
		{name: "default", want: idleconn.DefaultTimeout},
		{name: "flag", args: []string{"--storage-idle-timeout", "7s"}, want: 7 * time.Second},
		{name: "deprecated flag", args: []string{"--s3-idle-timeout", "5s"}, want: 5 * time.Second},
		{name: "both flags", args: []string{"--s3-idle-timeout", "5s", "--storage-idle-timeout", "7s"}, want: 7 * time.Second},
		{name: "deprecated variable", env: "5s", want: 5 * time.Second},
		{name: "flag and deprecated variable", args: []string{"--storage-idle-timeout", "7s"}, env: "5s", want: 7 * time.Second},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("BANYAN_BACKUP_S3_IDLE_TIMEOUT", tc.env)
			t.Setenv("BANYAN_BACKUP_STORAGE_IDLE_TIMEOUT", "")
			var s storeFlags
			cmd := &cobra.Command{Use: "test"}
			s.register(cmd.PersistentFlags())
			cmd.Flags().SetOutput(io.Discard) // the deprecation notice
			if err := cmd.ParseFlags(tc.args); err != nil {
				t.Fatal(err)
			}
			if err := flagsFromEnv(cmd); err != nil {
				t.Fatal(err)
			}
			o := s.options()
			if o.S3.IdleTimeout != tc.want || o.GCS.IdleTimeout != tc.want || o.Azure.IdleTimeout != tc.want {
				t.Errorf("idle timeouts S3 %v, GCS %v, Azure %v; want %v for all", o.S3.IdleTimeout, o.GCS.IdleTimeout, o.Azure.IdleTimeout, tc.want)
			}
		})
	}
}
