#!/usr/bin/env bash
# The test suite again, on the Node.js LTS the container image ships (scripts/lts-node.sh), after `vitest run` on the
# machine's own Node. vitest and every process the tests start (gateway, simulator, clients' `node`) then run on it.
set -euo pipefail
BIN="$(bash "$(dirname "$0")/lts-node.sh")"
VERSION="$("$BIN" --version)"
echo "── the suite again on Node $VERSION, the container image's runtime"
# test/deploy/dockerfile.test.ts checks that the tests really run on it.
GATEWAY_TEST_LTS_VERSION="${VERSION#v}" PATH="$(dirname "$BIN"):$PATH" exec "$(dirname "$0")/../node_modules/.bin/vitest" run "$@"
