#!/usr/bin/env bash
# Regenerates the Python stubs of proto/oblique/v1 into oblique_client/v1 (or into the directory
# given as $1, which is how the test that keeps them up to date compares), with grpcio-tools and
# mypy-protobuf (the .pyi type stubs, for the messages and the service stubs both) at the
# versions ci-requirements.txt pins: the output depends on them.
#
# The stubs are committed, so installing the client needs no protoc and no grpcio-tools.
# protoc writes imports after the .proto paths (`from oblique.v1 import common_pb2`); they are
# rewritten to this package's (`from oblique_client.v1 import common_pb2`) so that the client
# claims no top-level `oblique` package of its own.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
proto_root="$here/../../proto"
out="${1:-$here/oblique_client/v1}"
python="${PYTHON:-python3}"

# mypy-protobuf's protoc plugins are scripts beside that python.
scripts="$("$python" -c 'import sysconfig; print(sysconfig.get_path("scripts"))')"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$proto_root" && "$python" -m grpc_tools.protoc -I . \
    --plugin=protoc-gen-mypy="$scripts/protoc-gen-mypy" \
    --plugin=protoc-gen-mypy_grpc="$scripts/protoc-gen-mypy_grpc" \
    --python_out="$work" --grpc_python_out="$work" \
    --mypy_out=quiet:"$work" --mypy_grpc_out=quiet:"$work" oblique/v1/*.proto)

mkdir -p "$out"
rm -f "$out"/*_pb2.py "$out"/*_pb2.pyi "$out"/*_pb2_grpc.py "$out"/*_pb2_grpc.pyi
for file in "$work"/oblique/v1/*.py "$work"/oblique/v1/*.pyi; do
    sed -e 's/^from oblique\.v1 import /from oblique_client.v1 import /' "$file" >"$out/$(basename "$file")"
done
cat >"$out/__init__.py" <<'PY'
"""Stubs generated from proto/oblique/v1 by generate.sh: do not edit."""
PY
