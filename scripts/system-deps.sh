#!/usr/bin/env bash
# Installs the Debian packages the tests need, only those that are missing, so that `npm test` works
# on a fresh Debian machine and costs nothing on a prepared one. Idempotent; non-interactive.
# Usage: system-deps.sh [PKG…] (default: every package below).
#   python3-grpcio, python3-protobuf: the runtime of the Python client (clients/python/), for /usr/bin/python3
#   python3-build, python3-setuptools: build the client's wheel offline (`python3 -m build --wheel
#     --no-isolation`; setuptools is the pyproject's backend, and python3-build does not pull it in)
#   python3-venv: the fresh venv the wheel test installs that wheel into (its pip comes from ensurepip)
#   protobuf-compiler, protobuf-compiler-grpc: protoc's Python generator and grpc_python_plugin, used by
#     `npm run proto:python` and by the test that checks the committed Python stubs are up to date
#   openssl: self-signed certificates for the clients' TLS tests
#   redis-server: the shared limiter's tests (test/helpers/redis.ts starts it on a free port) and its bench case
#   nghttp2-client: h2load and nghttp, the load generator and the gRPC status check of `npm run bench` (and its smoke test)
#   gnuplot-nox: not for tests and not in the default list; `npm run bench:plot` asks for it by name to draw
#     docs/img/cost-growth.png from a bench result
#   golang-go and Debian's Go gRPC/protobuf sources and plugins: building examples/go offline
#     (GOPATH mode on /usr/share/gocode). golang-github-golang-protobuf-1-5-dev, not the 1-3 that
#     golang-google-grpc-dev may pull in: grpc's codec goes through github.com/golang/protobuf, and
#     1.3 cannot decode the messages protoc-gen-go 1.28 generates (it panics in table_unmarshal).
set -euo pipefail

PACKAGES=(
  python3-grpcio python3-protobuf python3-build python3-setuptools python3-venv protobuf-compiler protobuf-compiler-grpc openssl
  golang-go golang-google-grpc-dev golang-google-protobuf-dev golang-google-genproto-dev
  golang-github-golang-protobuf-1-5-dev protoc-gen-go protoc-gen-go-grpc
  nghttp2-client redis-server
)
# `system-deps.sh PKG…` checks and installs only those (npm run bench needs nghttp2-client alone).
if [ $# -gt 0 ]; then PACKAGES=("$@"); fi

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "system-deps: not a Debian-based system (no dpkg-query); install by hand: ${PACKAGES[*]}" >&2
  exit 1
fi

missing=()
for pkg in "${PACKAGES[@]}"; do
  # "install ok installed" is the only state in which the package's files are all there.
  if [ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" != "install ok installed" ]; then
    missing+=("$pkg")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "system-deps: all present (${PACKAGES[*]})"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "system-deps: missing Debian packages: ${missing[*]}" >&2
  echo "system-deps: not root; run: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
echo "system-deps: installing ${missing[*]}"
# A fresh machine may have no package lists yet; refreshing them costs a few seconds and only happens here.
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
echo "system-deps: installed ${missing[*]}"
