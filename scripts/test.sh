#!/usr/bin/env bash
# Every test: formatting, vet, staticcheck (pinned, installed by
# scripts/staticcheck.sh), build and vet for macOS and Windows, the README's
# demo, the container image (where an engine exists), the Go tests (unit,
# end-to-end CLI, simulator, fixtures; the library packages also with -race;
# the deploy module's checks of the image's build stage, manifests, units,
# alert rules, dashboard and runbooks), and a few seconds of fuzzing of every
# fuzz target (scripts/fuzz.sh). CI runs exactly this (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted" >&2; exit 1; fi

echo "== go vet"
go vet ./...
(cd deploy && go vet ./...)

echo "== staticcheck"
scripts/staticcheck.sh ./...
MODULE_DIR=deploy scripts/staticcheck.sh ./...

# Operators inspect and restore from their laptops: the code builds and vets
# there too (README, Platforms).
for target in darwin/arm64 windows/amd64; do
	echo "== go build and go vet for $target"
	GOOS=${target%/*} GOARCH=${target#*/} go build ./...
	GOOS=${target%/*} GOARCH=${target#*/} go vet ./...
done

echo "== demo"
scripts/demo.sh

echo "== container image"
scripts/image.sh --test

echo "== test servers (S3, GCS, Azure on 127.0.0.1)"
servers=$(mktemp -d)
trap 'scripts/test-servers.sh stop "$servers"; rm -rf "$servers"' EXIT
scripts/test-servers.sh start "$servers"
source "$servers/env"

echo "== go test -race (library packages)"
go test -count=1 -race -timeout 20m ./internal/...

echo "== go test"
export BANYAN_TEST_REPORT="$servers/report"
go test -count=1 -timeout 20m ./...

echo "== go test (deploy: image build stage, Kubernetes, systemd, monitoring, runbooks)"
(cd deploy && go test -count=1 -timeout 20m ./...)

if [ -s "$BANYAN_TEST_REPORT" ]; then
	echo "== reports"
	cat "$BANYAN_TEST_REPORT"
fi

# go test has replayed every fuzz target's seeds and testdata/fuzz corpus;
# now each is fuzzed for a while, one after the other.
echo "== fuzz (every fuzz target, 5s each)"
scripts/fuzz.sh 5s
