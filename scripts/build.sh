#!/usr/bin/env bash
# Builds a static banyan-backup (CGO_ENABLED=0, -trimpath) stamped with its
# version, commit and build date, read by `banyan-backup version` and the
# banyan_backup_build_info metric. The container image (Dockerfile) builds
# with this script too.
#
#   scripts/build.sh [OUTPUT]          default: bin/banyan-backup
#
# VERSION, COMMIT and BUILD_DATE override what git says (the image's build
# has no .git: scripts/image.sh passes them in); GOOS and GOARCH cross-build.
# The build date is the commit's time (or SOURCE_DATE_EPOCH), not the clock's,
# so that two builds of one commit are the same bytes.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-bin/banyan-backup}

version=${VERSION:-$(git describe --tags --always --dirty 2>/dev/null || echo dev)}
commit=${COMMIT:-$(git rev-parse HEAD 2>/dev/null || echo unknown)}
if [ -z "${BUILD_DATE:-}" ]; then
	if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
		BUILD_DATE=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
	else
		BUILD_DATE=$(TZ=UTC git log -1 --format=%cd --date=format-local:%Y-%m-%dT%H:%M:%SZ 2>/dev/null || echo unknown)
	fi
fi

ldflags="-s -w -X main.version=$version -X main.commit=$commit -X main.date=$BUILD_DATE"
CGO_ENABLED=0 go build -trimpath -buildvcs=false -ldflags "$ldflags" -o "$out" ./cmd/banyan-backup
echo "$out: banyan-backup $version ($commit, $BUILD_DATE)"
