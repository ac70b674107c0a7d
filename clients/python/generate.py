"""Regenerates the Python client's stubs (dify_app_client/_proto/) from proto/ with buf.

    /usr/bin/python3 clients/python/generate.py          # rewrite dify_app_client/_proto/ (npm run proto:python)
    /usr/bin/python3 clients/python/generate.py --check  # exit 1 if the committed stubs differ from proto/

buf runs clients/python/buf.gen.yaml into a temporary directory: protoc's builtin python and pyi
generators and Debian's grpc_python_plugin. Then this script makes the result a subpackage:
protoc writes absolute imports (`from dify.app.v1 import common_pb2`), which would need the output
directory itself on sys.path and would clash with any other `dify` package. Every generated import
of our own protos stays within one directory, so each becomes `from . import common_pb2`.
Modules for protos without services (empty *_pb2_grpc.py) are dropped.
"""

from __future__ import annotations

import argparse
import filecmp
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = Path("clients/python/buf.gen.yaml")
OUT = Path("clients/python/dify_app_client/_proto")
BUF = ROOT / "node_modules" / ".bin" / "buf"

# `from dify.app.v1 import chat_pb2 as x` → `from . import chat_pb2 as x`; same for google.rpc.
# google.protobuf imports stay absolute: that is the protobuf runtime.
SIBLING_IMPORT = re.compile(r"^from (dify\.app\.v1|google\.rpc) import ", re.MULTILINE)


def generate(into: Path) -> None:
    """Writes the finished subpackage into `into` (which must not exist)."""
    if not BUF.exists():
        sys.exit(f"generate.py: {BUF} not found: run `npm ci` first")
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([str(BUF), "generate", "--template", str(TEMPLATE), "-o", tmp], cwd=ROOT, check=True)
        raw = Path(tmp) / OUT
        for path in sorted(raw.rglob("*.py*")):
            text = path.read_text(encoding="utf-8")
            if path.name.endswith("_pb2_grpc.py") and "Stub(object)" not in text:
                continue
            target = into / path.relative_to(raw)
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(SIBLING_IMPORT.sub("from . import ", text), encoding="utf-8")
    for directory in [into, *(d for d in into.rglob("*") if d.is_dir())]:
        (directory / "__init__.py").write_text(
            "" if directory != into else '"""Generated from proto/ by clients/python/generate.py. Do not edit."""\n',
            encoding="utf-8",
        )


def differences(a: Path, b: Path) -> list[str]:
    """Relative paths that differ between two trees, or exist in only one."""
    names = lambda root: {p.relative_to(root) for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    left, right = names(a), names(b)
    changed = [p for p in left & right if not filecmp.cmp(a / p, b / p, shallow=False)]
    return sorted(str(p) for p in (left ^ right) | set(changed))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="compare with the committed stubs instead of writing them")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        fresh = Path(tmp) / "_proto"
        generate(fresh)
        committed = ROOT / OUT
        if args.check:
            diff = differences(fresh, committed) if committed.exists() else ["(missing) " + str(OUT)]
            if diff:
                print(f"{OUT} is stale: run `npm run proto:python` and commit the result. Differs:", *diff, sep="\n  ", file=sys.stderr)
                return 1
            print(f"{OUT} matches proto/")
            return 0
        shutil.rmtree(committed, ignore_errors=True)
        shutil.copytree(fresh, committed)
        print(f"wrote {OUT}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
