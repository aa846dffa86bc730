# Strand's image: the `deno task compile` binary on a distroless glibc base, as a non-root user,
# its data on a volume. Every RUN is in exec form: the build stages need no shell either.
#
#   podman build -t strand .                       (docker build works the same)
#   podman run -p 8400:8400 -p 8402:8402 -p 8403:8403 -v strand-data:/var/lib/strand strand
#
# Descriptors: 2 per log segment plus connections. Strand cannot read the container's limit under
# its permissions; give one and state it, e.g. `--ulimit nofile=65536:65536 -e STRAND_FD_LIMIT=65536`
# (without STRAND_FD_LIMIT it assumes 1024 and caps connections at shares of that).
#
# Build arguments:
#   BASE_IMAGE   the runtime base (glibc: distroless cc; swap for another glibc base)
#   BUILD_IMAGE  an image with Deno 2.8.3 at DENO_PATH (and glibc)
#   DENO_CERT    extra CA file for reaching the npm registry (see deps)
#   DENORT_BIN   a local denort for deno compile (see compile)
# Stages: `deps` (sources + node_modules), `compile` (deno task compile: it downloads denort
# once), `source` (no compile: Deno runs `deno task start`, the same permission flags, from the
# sources; for builds that cannot reach the denort download), and `binary` (the default).
# Health: the base has no shell or curl, so HEALTHCHECK runs `strand health`, which asks the
# operations listener (--ops-addr 0.0.0.0:8403: /readyz); Kubernetes probes it directly.
# (Docker keeps HEALTHCHECK; podman only with --format docker.)
ARG BASE_IMAGE=gcr.io/distroless/cc-debian12:nonroot
ARG BUILD_IMAGE=docker.io/denoland/deno:debian-2.8.3
ARG DENO_PATH=/usr/bin/deno

FROM ${BUILD_IMAGE} AS deps
ARG DENO_PATH
# A CA file inside the build (mounted with -v) when the npm registry is reached through a
# TLS-inspecting proxy; unset otherwise.
ARG DENO_CERT
USER 0:0
ENV DENO_DIR=/deno-dir DENO_NO_UPDATE_CHECK=1 NO_COLOR=1
WORKDIR /src
COPY deno.json deno.lock ./
RUN ["deno", "install", "--frozen"]
COPY . .
# The data volume's mount point, owned by the runtime user (65532, distroless's nonroot).
RUN ["deno", "eval", "for (const d of ['/rootfs/var/lib/strand', '/rootfs/etc/strand']) Deno.mkdirSync(d, { recursive: true }); Deno.chownSync('/rootfs/var/lib/strand', 65532, 65532)"]
RUN ["deno", "cache", "main.ts"]

FROM deps AS compile
# A denort inside the build (mounted with -v) when its download host is unreachable; unset
# otherwise. (Pointing it at a deno CLI packs the same payload, but that binary runs as deno.)
ARG DENORT_BIN
ARG DENO_CERT
RUN ["deno", "task", "compile"]

FROM ${BASE_IMAGE} AS source
ARG DENO_PATH
COPY --from=deps ${DENO_PATH} /usr/local/bin/deno
COPY --from=deps /src /app
COPY --from=deps /deno-dir /app/.deno-dir
COPY --from=deps /rootfs/ /
ENV DENO_DIR=/app/.deno-dir DENO_NO_UPDATE_CHECK=1
USER 65532:65532
WORKDIR /var/lib/strand
VOLUME ["/var/lib/strand"]
EXPOSE 8400 8401 8401/udp 8402 8403
ENTRYPOINT ["/usr/local/bin/deno", "task", "--config", "/app/deno.json", "start"]
CMD ["--data-dir", "/var/lib/strand", "--bind-addr", "0.0.0.0:8401", "--ops-addr", "0.0.0.0:8403"]

FROM ${BASE_IMAGE} AS binary
COPY --from=compile /src/strand /usr/local/bin/strand
COPY --from=deps /rootfs/ /
USER 65532:65532
WORKDIR /var/lib/strand
VOLUME ["/var/lib/strand"]
EXPOSE 8400 8401 8401/udp 8402 8403
# No shell or curl here: the binary asks its own operations listener.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s \
  CMD ["/usr/local/bin/strand", "health", "--addr", "127.0.0.1:8403"]
ENTRYPOINT ["/usr/local/bin/strand"]
CMD ["serve", "--data-dir", "/var/lib/strand", "--bind-addr", "0.0.0.0:8401", "--ops-addr", "0.0.0.0:8403"]
