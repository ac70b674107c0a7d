#!/usr/bin/env bash
# Builds examples/go/stream_chat offline with Debian's Go packages (scripts/system-deps.sh):
#   bash examples/go/build.sh OUT_BINARY
# Go 1.19 in GOPATH mode: a temporary GOPATH holds the stubs buf generates from proto/ (protoc-gen-go,
# protoc-gen-go-grpc), and /usr/share/gocode has grpc, protobuf and genproto as Debian packages them.
# No module download: GOPROXY=off. Nothing is written into the repository.
set -euo pipefail
out="$(realpath -m "${1:?usage: build.sh OUT_BINARY}")"
root="$(cd "$(dirname "$0")/../.." && pwd)"
gopath="$(mktemp -d)"
trap 'rm -rf "$gopath"' EXIT

(cd "$root" && node_modules/.bin/buf generate --template examples/go/buf.gen.yaml -o "$gopath")
cd "$root/examples/go/stream_chat"
# The build cache is Go's usual one (repeat builds take a second), or a temporary one without $HOME.
export GOCACHE="${GOCACHE:-${HOME:+$HOME/.cache/go-build}}"
export GOCACHE="${GOCACHE:-$gopath/cache}"
GO111MODULE=off GOPROXY=off GOFLAGS= GOPATH="$gopath:/usr/share/gocode" \
  go build -o "$out" .
