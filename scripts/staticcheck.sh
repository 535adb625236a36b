#!/usr/bin/env bash
# Runs staticcheck at a pinned version, installed with `go install` into
# .cache/bin (git-ignored) on first use and again whenever the pinned version
# or the Go toolchain changes. Arguments go to staticcheck (default ./...);
# it exits non-zero on any finding. MODULE_DIR=deploy runs it in that
# directory's Go module instead of the main one.
set -euo pipefail

STATICCHECK_VERSION=v0.8.2 # Staticcheck 2026.2.2: supports Go 1.26 and 1.27

root="$(cd "$(dirname "$0")/.." && pwd)"
bin="$root/.cache/bin"

# installed prints "GOVERSION VERSION" of the staticcheck in .cache/bin, if any.
installed() {
	go version -m "$bin/staticcheck" 2>/dev/null |
		awk 'NR == 1 { gover = $2 } $1 == "mod" && $2 == "honnef.co/go/tools" { print gover, $3 }'
}

if [ "$(installed)" != "$(go env GOVERSION) $STATICCHECK_VERSION" ]; then
	echo "installing staticcheck $STATICCHECK_VERSION" >&2
	mkdir -p "$bin"
	GOBIN="$bin" go install "honnef.co/go/tools/cmd/staticcheck@$STATICCHECK_VERSION"
fi

cd "$root/${MODULE_DIR:-.}"
exec "$bin/staticcheck" "${@:-./...}"
