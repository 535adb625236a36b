// Package deploy holds banyan-backup's deployment files (the container
// image's checks, Kubernetes manifests, systemd units, Prometheus rules and
// a Grafana dashboard) and the tests that check them against the CLI they
// run: every flag exists, paths and ports agree, rules parse with
// Prometheus's own parser and name only metrics a running serve exports,
// and the runbooks' commands run.
//
// It is a Go module of its own, so that the Kubernetes API types and
// Prometheus's rule parser, which only these tests use, stay out of the
// main module's dependencies (docs/dependencies.md).
package deploy
