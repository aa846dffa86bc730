#!/usr/bin/env bash
# deno task ship:image: installs podman and buildah from Debian's archive when they are missing
# (as root), then runs the image test (tests/ship/image_test.ts). Minutes on a cold cache.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../../.."
if ! command -v podman >/dev/null || ! command -v buildah >/dev/null; then
  [ "$(id -u)" = 0 ] || { echo "podman and buildah are missing; install them as root" >&2; exit 1; }
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman buildah >/dev/null
fi
exec deno test -A tests/ship/image_test.ts
