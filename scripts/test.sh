#!/usr/bin/env bash
# Every test: formatting, vet, the Go tests (unit, end-to-end CLI, fixtures)
# and the README's demo. CI runs exactly this (.ci/run).
set -euo pipefail
cd "$(dirname "$0")/.."

echo "== gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then echo "gofmt would change: $unformatted" >&2; exit 1; fi

echo "== go vet"
go vet ./...

echo "== go test"
go test -count=1 -timeout 20m ./...

echo "== go test -race (library packages)"
go test -count=1 -race -timeout 20m ./internal/...

echo "== demo"
scripts/demo.sh
