#!/usr/bin/env bash
# Regenerates the Go code in api/gen from the .proto files in api/proto.
# The generated files are committed; CI does not run this script.
#
# Pinned tools (change them together with go.mod):
#   protoc              Debian's protobuf-compiler (libprotoc 3.21.12 on bookworm)
#   protoc-gen-go       v1.36.12 (same as google.golang.org/protobuf in go.mod)
#   protoc-gen-go-grpc  v1.5.1
set -euo pipefail

PROTOC_GEN_GO_VERSION=v1.36.12
PROTOC_GEN_GO_GRPC_VERSION=v1.5.1
PROTOC_WANT="libprotoc 3.21.12"

cd "$(dirname "$0")/.."

if ! command -v protoc >/dev/null 2>&1; then
	if [ "$(id -u)" = 0 ]; then
		apt-get update -qq
		apt-get install -y -qq protobuf-compiler
	else
		sudo apt-get update -qq
		sudo apt-get install -y -qq protobuf-compiler
	fi
fi
got="$(protoc --version)"
if [ "$got" != "$PROTOC_WANT" ]; then
	echo "gen-proto: warning: protoc is '$got', the committed code was made with '$PROTOC_WANT'" >&2
fi

bin="$(pwd)/.cache/protoc-bin"
mkdir -p "$bin"
GOBIN="$bin" go install "google.golang.org/protobuf/cmd/protoc-gen-go@${PROTOC_GEN_GO_VERSION}"
GOBIN="$bin" go install "google.golang.org/grpc/cmd/protoc-gen-go-grpc@${PROTOC_GEN_GO_GRPC_VERSION}"
export PATH="$bin:$PATH"

module=github.com/banyan-backup/banyan-backup
rm -rf api/gen
mkdir -p api/gen
protoc \
	-I api/proto \
	--go_out=api/gen --go_opt=module="$module/api/gen" \
	--go-grpc_out=api/gen --go-grpc_opt=module="$module/api/gen" \
	api/proto/banyandb/common/v1/common.proto \
	api/proto/banyandb/database/v1/snapshot.proto
gofmt -l api/gen
echo "gen-proto: generated $(find api/gen -name '*.go' | wc -l) files in api/gen"
