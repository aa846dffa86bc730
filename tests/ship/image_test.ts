/**
 * Builds the Dockerfile with podman from local bases made of Debian packages
 * (image/make_bases.sh: registries are unreachable here), runs the image and produces and
 * consumes through it.
 *
 * What is and is not tested, exactly:
 * - `--target source` (Deno runs `deno task start`, the shipped flags, from the sources) is
 *   built, run as its non-root user with its entrypoint, a data volume, and served from.
 * - `--target binary` (the default) is built with DENORT_BIN = this machine's deno, because
 *   denort's download host is unreachable: the build and the image's layout, user, volume,
 *   ports and entrypoint are checked, and its /usr/local/bin/strand carries Strand's payload;
 *   it is NOT run (with a deno CLI as runtime it would run as deno, not as Strand).
 * - The base is not gcr.io/distroless/cc-debian12 but the same shape (glibc, libgcc, libstdc++,
 *   nonroot 65532, no shell) built from Debian 12 packages.
 * - Containers run under buildah's chroot isolation (this machine's crun cannot create
 *   cgroups or set rlimits), which shares the host network: the server binds 127.0.0.1 with
 *   free ports chosen by the test instead of the image's default 0.0.0.0:8400-8403.
 *
 * Skipped, with the reason printed, without root, podman, buildah or apt-get; `deno task
 * ship:image` installs podman and buildah first. Several minutes on a cold cache.
 */
import { assert, assertEquals } from "../server/_assert.ts";
import { readPayload } from "./_payload.ts";
import { collectSettings } from "../../cli/_serve.ts";

const root = new URL("../../", import.meta.url).pathname;
const makeBases = new URL("./image/make_bases.sh", import.meta.url).pathname;
const BASE = "localhost/strand-test-base:debian12";
const BUILD = "localhost/strand-test-build:debian12";

function which(tool: string): boolean {
  return Deno.env.get("PATH")!.split(":").some((dir) => {
    try {
      return Deno.statSync(`${dir}/${tool}`).isFile;
    } catch {
      return false;
    }
  });
}

const missing = ["podman", "buildah", "apt-get", "dpkg-deb"].filter((tool) => !which(tool));
const skipReason = Deno.uid() !== 0
  ? "not root (podman builds and buildah's chroot isolation need root here)"
  : missing.length > 0
  ? `${missing.join(", ")} not installed (deno task ship:image installs them)`
  : "";
if (skipReason) console.log(`image test SKIPPED: ${skipReason}`);

async function run(cmd: string, args: string[], timeoutMs = 600_000): Promise<string> {
  const output = await new Deno.Command(cmd, {
    args,
    cwd: root,
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(timeoutMs),
  }).output();
  const text = new TextDecoder().decode(output.stdout);
  if (!output.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed:\n${new TextDecoder().decode(output.stderr)}`);
  }
  return text;
}

function systemCaFile(): string | undefined {
  const path = "/etc/ssl/certs/ca-certificates.crt";
  try {
    return Deno.statSync(path).isFile ? path : undefined;
  } catch {
    return undefined;
  }
}

/** podman build arguments: local bases, and this machine's CA for npm when it has one. */
function buildArgs(target: string, tag: string): string[] {
  const args = ["build", "--isolation", "chroot", "--target", target, "-t", tag];
  args.push("--build-arg", `BASE_IMAGE=${BASE}`, "--build-arg", `BUILD_IMAGE=${BUILD}`);
  // The machine's trust store, which may hold a TLS-inspecting proxy's CA the base lacks.
  const ca = Deno.env.get("SSL_CERT_FILE") ?? systemCaFile();
  if (ca) args.push("-v", `${ca}:/run/host-ca.pem:ro`, "--build-arg", "DENO_CERT=/run/host-ca.pem");
  return args;
}

interface ImageConfig {
  User: string;
  Entrypoint: string[];
  Cmd: string[];
  ExposedPorts: Record<string, unknown>;
  Volumes: Record<string, unknown>;
}

async function imageConfig(tag: string): Promise<{ config: ImageConfig; size: number }> {
  const [image] = JSON.parse(await run("podman", ["image", "inspect", tag]));
  return { config: image.Config, size: image.Size };
}

function assertShape(config: ImageConfig): void {
  assertEquals(config.User, "65532:65532");
  assertEquals(Object.keys(config.ExposedPorts).sort(), [
    "8400/tcp",
    "8401/tcp",
    "8401/udp",
    "8402/tcp",
    "8403/tcp",
  ]);
  assertEquals(Object.keys(config.Volumes), ["/var/lib/strand"]);
  assert(config.Cmd.includes("--ops-addr"), `no ops listener in ${config.Cmd}`);
}

/** The pid of the process under `ancestor` whose command line includes `word`. */
function descendant(ancestor: number, word: string): number {
  const parentOf = new Map<number, number>();
  for (const entry of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(entry.name)) continue;
    try {
      const stat = Deno.readTextFileSync(`/proc/${entry.name}/stat`);
      parentOf.set(Number(entry.name), Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]));
    } catch { /* gone */ }
  }
  for (const pid of parentOf.keys()) {
    let up = parentOf.get(pid);
    for (let hops = 0; up !== undefined && up !== ancestor && hops < 20; hops++) {
      up = parentOf.get(up);
    }
    if (up !== ancestor) continue;
    const cmdline = Deno.readTextFileSync(`/proc/${pid}/cmdline`).split("\0");
    if (cmdline.includes(word)) return pid;
  }
  throw new Error(`no process "${word}" under ${ancestor}`);
}

/** Runs the image's entrypoint with `args` (not its Cmd) until it prints its ports. */
async function serveFrom(tag: string, volume: string, args: string[]) {
  const container = (await run("buildah", ["from", tag])).trim();
  const { config } = await imageConfig(tag);
  const child = new Deno.Command("buildah", {
    args: [
      ...["run", "--isolation", "chroot", "-v", `${volume}:/var/lib/strand`, container, "--"],
      ...config.Entrypoint,
      ...args,
    ],
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  let text = "";
  let wake = () => {};
  const decoder = new TextDecoder();
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) {
      text += decoder.decode(chunk);
      wake();
    }
  };
  const done = Promise.all([pump(child.stdout), pump(child.stderr), child.status]);
  let timer: ReturnType<typeof setTimeout> | undefined;
  await new Promise<void>((resolve) => {
    wake = () => /auth\s/.test(text) && resolve();
    done.then(() => resolve()); // exited: the assertion below shows the output
    timer = setTimeout(resolve, 60_000);
  });
  clearTimeout(timer);
  assert(/auth\s/.test(text), `the image did not start:\n${text}`);
  return {
    httpUrl: /HTTP\s+(\S+)/.exec(text)![1]!,
    opsUrl: /^\s+ops\s+(\S+)/m.exec(text)![1]!,
    output: () => text,
    /** SIGTERM to the server itself (buildah run does not forward signals); its exit code. */
    async stop() {
      Deno.kill(descendant(child.pid, "serve"), "SIGTERM");
      const [, , status] = await done;
      await run("buildah", ["rm", container]);
      return status.code;
    },
  };
}

Deno.test({
  name: "image: builds from local Debian bases, runs as nonroot, serves and keeps data",
  ignore: skipReason !== "",
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    await run("bash", [makeBases], 300_000);
    const tag = "localhost/strand:ship-test";
    await run("podman", [...buildArgs("source", tag), "."]);
    const { config, size } = await imageConfig(tag);
    assertShape(config);
    // The image's default arguments are ones serve accepts: data on the volume, ops on 8403.
    const defaults = await collectSettings(config.Cmd);
    assertEquals([defaults.dataDir, defaults.ops], ["/var/lib/strand", {
      host: "0.0.0.0",
      port: 8403,
    }]);
    console.log(`image size (--target source): ${(size / 1e6).toFixed(1)} MB`);

    const volume = await Deno.makeTempDir({ prefix: "strand-volume-" });
    try {
      await Deno.chown(volume, 65532, 65532);
      const loopback = ["--bind-addr", "127.0.0.1:0", "--rpc-port", "0", "--http-port", "0"];
      const flags = ["--data-dir", "/var/lib/strand", ...loopback, "--ops-addr", "127.0.0.1:0"];
      const first = await serveFrom(tag, volume, flags);
      try {
        const ready = await fetch(`${first.opsUrl}/readyz`);
        assertEquals(await ready.json(), { status: "ready" });
        const produced = await fetch(`${first.httpUrl}/v1/records`, {
          method: "POST",
          body: JSON.stringify({ value: btoa("in the image") }),
        });
        assertEquals(await produced.json(), {
          offset: 0,
          count: 1,
          replicasFsynced: 1,
          commitIndex: 0,
          duplicate: false,
          durable: true,
        });
      } finally {
        assertEquals(await first.stop(), 0, first.output());
      }
      // The data outlives the container, written by the image's user.
      assertEquals((await Deno.stat(`${volume}/log`)).uid, 65532);
      const second = await serveFrom(tag, volume, flags);
      try {
        const read = await fetch(`${second.httpUrl}/v1/records/0`);
        assertEquals((await read.json()).value, btoa("in the image"));
      } finally {
        assertEquals(await second.stop(), 0, second.output());
      }
    } finally {
      await Deno.remove(volume, { recursive: true });
    }

    // The default target: the compiled binary (packed with a local deno as denort).
    const binaryTag = "localhost/strand:ship-test-binary";
    const args = buildArgs("binary", binaryTag);
    args.push("-v", `${Deno.execPath()}:/run/denort:ro`, "--build-arg", "DENORT_BIN=/run/denort");
    await run("podman", [...args, "."]);
    const binary = await imageConfig(binaryTag);
    assertShape(binary.config);
    assertEquals(binary.config.Entrypoint, ["/usr/local/bin/strand"]);
    assertEquals(binary.config.Cmd, ["serve", ...config.Cmd]);
    console.log(`image size (binary, deno CLI as runtime): ${(binary.size / 1e6).toFixed(1)} MB`);
    const container = (await run("buildah", ["from", binaryTag])).trim();
    try {
      const mount = (await run("buildah", ["mount", container])).trim();
      const strand = await Deno.readFile(`${mount}/usr/local/bin/strand`);
      const runtimeBytes = (await Deno.stat(Deno.execPath())).size;
      assertEquals(readPayload(strand, runtimeBytes).metadata.entrypoint_key, "main.ts");
      assertEquals((await Deno.stat(`${mount}/var/lib/strand`)).uid, 65532);
      let shell = true;
      await Deno.stat(`${mount}/bin/sh`).catch(() => shell = false);
      assertEquals(shell, false, "the runtime image has no shell");
    } finally {
      await run("buildah", ["rm", container]);
    }
  },
});
