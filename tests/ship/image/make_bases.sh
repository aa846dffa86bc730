#!/usr/bin/env bash
# Builds the two local images the image test builds Strand's Dockerfile on, from Debian
# packages (registries are unreachable where the test runs; Debian's archive is not):
#   localhost/strand-test-base:debian12   libc6, libgcc-s1, libstdc++6 and netbase unpacked, a
#                                         passwd with root and nonroot (65532), /tmp: the shape
#                                         of gcr.io/distroless/cc-debian12, with no shell
#   localhost/strand-test-build:debian12  the same plus this machine's deno at /usr/bin/deno
# Needs podman, apt-get (with package lists: apt-get update) and dpkg-deb. Idempotent.
set -euo pipefail
WORK="${WORK:-/tmp/strand-test-bases}"
DENO="${DENO:-$(command -v deno)}"
BASE=localhost/strand-test-base:debian12
BUILD=localhost/strand-test-build:debian12
mkdir -p "$WORK/debs"
(cd "$WORK/debs" && apt-get download libc6 libgcc-s1 libstdc++6 netbase >/dev/null)
rootfs="$WORK/rootfs"
rm -rf "$rootfs" && mkdir -p "$rootfs"
for deb in "$WORK"/debs/*.deb; do dpkg-deb -x "$deb" "$rootfs"; done
mkdir -p "$rootfs/etc" "$rootfs/tmp" "$rootfs/home/nonroot" "$rootfs/root"
chmod 1777 "$rootfs/tmp"
printf 'root:x:0:0:root:/root:/sbin/nologin\nnonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nnonroot:x:65532:\n' >"$rootfs/etc/group"
chown 65532:65532 "$rootfs/home/nonroot"
rm -rf "$rootfs/usr/share/doc" "$rootfs/usr/share/lintian" "$rootfs/usr/share/man"
env_path='ENV PATH=/usr/local/bin:/usr/bin:/bin'
tar -C "$rootfs" -c . | podman import --change "$env_path" - "$BASE" >/dev/null
install -D -m 0755 "$DENO" "$rootfs/usr/bin/deno"
tar -C "$rootfs" -c . | podman import --change "$env_path" - "$BUILD" >/dev/null
echo "$BASE $BUILD"
