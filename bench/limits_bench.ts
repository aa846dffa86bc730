/**
 * `deno task bench limits`: what hostile or careless clients cost a node, as its RSS (read
 * from /proc/<pid>/status), each next to the bound the server enforces, and what the bounds
 * cost the fast path: produce throughput of this tree and of a baseline tree (before the
 * bounds; `--baseline=<git rev>`, default 64d942c) measured in the same run, alternating.
 *
 * Cases: (a) ConsumeStreams that stop reading (1, 4 and 16 connections of one stream each;
 * `--streams=1,4,16`), with the default window and with a 2^31−1 window, on a 100 MB log,
 * opened and closed `--cycles=N` times (default 3); the node runs with `--inspect` so that
 * the bench can collect garbage and read `Deno.memoryUsage()` (live memory vs RSS);
 * (b) 10,000 idle HTTP/2 connections (the node runs under
 * `ulimit -n 20000` and is told so by STRAND_FD_LIMIT); (c) 10,000 abandoned streams
 * (100 connections × 100 tailing ConsumeStreams that never read).
 * Flags: `--secs=N` per throughput round (default 3), `--rounds=N` (default 3),
 * `--only=a,b,c,throughput`; `--streams=…` and `--cycles=N` for case (a); for the throughput
 * part, `--tree=<git rev>` measures that revision instead of this working tree (to bisect
 * between two revisions), `--cases=stream.1`
 * (default `stream.1,unary.c64`) and `--cpu-prof=<dir>` (each server writes a V8 CPU profile
 * under `<dir>/baseline` or `<dir>/tree`; profiling slows it, so read its figures as a profile).
 * @module
 */
import { LogClient } from "../client/mod.ts";
import { servePermissions } from "../tests/e2e/_node.ts";
import { openStalledConsumer } from "../tests/server/_raw_h2.ts";
import {
  clientBacklogBytesMax,
  rawWriteBytes,
  windowOverrunBytesMax,
} from "../server/_grpc_stream.ts";
import { READ_AHEAD_BYTES } from "../log/_reader.ts";
import { connectInspector, freeInspectorPort, type Inspector } from "./_inspector.ts";

const flag = (name: string, fallback: string) =>
  Deno.args.find((arg) => arg.startsWith(`--${name}=`))?.slice(name.length + 3) ?? fallback;
const SECS = Number(flag("secs", "3"));
const ROUNDS = Number(flag("rounds", "3"));
const BASELINE = flag("baseline", "64d942c");
const TREE = flag("tree", "");
const CASES = flag("cases", "stream.1,unary.c64").split(",").filter((name) => name !== "");
const CPU_PROF = flag("cpu-prof", "");
const ONLY = flag("only", "").split(",").filter((group) => group !== "");
const STREAMS = flag("streams", "1,4,16").split(",").map(Number);
const CYCLES = Number(flag("cycles", "3"));
const wanted = (group: string) => ONLY.length === 0 || ONLY.includes(group);
const root = new URL("../", import.meta.url).pathname;
const MiB = 1024 * 1024;

interface Node {
  pid: number;
  rpc: string;
  http: string;
  stop(): Promise<void>;
}

/**
 * Starts `serve` from `tree` as shipped, optionally under a descriptor limit; `runtimeArgs` go
 * before the script (e.g. `--cpu-prof`).
 */
async function startServe(
  tree: string,
  fdLimit?: number,
  runtimeArgs: string[] = [],
): Promise<Node> {
  const dataDir = await Deno.makeTempDir();
  const deno = [
    Deno.execPath(),
    "run",
    ...servePermissions(dataDir),
    ...runtimeArgs,
    `${tree}/main.ts`,
    "serve",
  ];
  const args = [...deno, "--data-dir", dataDir, "--rpc-port", "0", "--http-port", "0"];
  const command = fdLimit === undefined
    ? new Deno.Command(args[0]!, { args: args.slice(1), stdout: "piped", stderr: "piped" })
    : new Deno.Command("bash", {
      args: ["-c", `ulimit -n ${fdLimit} && exec "$@"`, "bash", ...args],
      env: { STRAND_FD_LIMIT: String(fdLimit) },
      stdout: "piped",
      stderr: "piped",
    });
  const child = command.spawn();
  let text = "";
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) text += chunk;
  };
  const drained = Promise.all([pump(child.stdout), pump(child.stderr)]);
  const deadline = Date.now() + 30_000;
  while (!/gRPC\s+\S+/.test(text) || !/HTTP\s+\S+/.test(text)) {
    if (Date.now() > deadline) throw new Error(`serve did not start:\n${text}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    pid: child.pid,
    rpc: /gRPC\s+(\S+)/.exec(text)![1]!,
    http: /HTTP\s+(\S+)/.exec(text)![1]!,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await drained;
      await Deno.remove(dataDir, { recursive: true });
    },
  };
}

function rssBytes(pid: number): number {
  const line = Deno.readTextFileSync(`/proc/${pid}/status`).split("\n")
    .find((row) => row.startsWith("VmRSS:"));
  return Number(/(\d+)/.exec(line ?? "")?.[1] ?? "0") * 1024;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const mb = (bytes: number) => `${(bytes / MiB).toFixed(bytes < 10 * MiB ? 1 : 0)} MiB`;

function report(name: string, value: number, unit: string, note = ""): void {
  console.log(
    `${name.padEnd(46)} ${
      value.toFixed(unit === "ratio" ? 3 : unit === "µs" || unit === "MiB" ? 1 : 0).padStart(10)
    } ${unit}  ${note}`,
  );
  console.log(JSON.stringify({ name: `limits.${name}`, value, unit }));
}

function port(address: string): number {
  return Number(address.slice(address.lastIndexOf(":") + 1));
}

/** The node's `strand_consume_streams_waiting` (streams paused for their client). */
async function streamsWaiting(node: Node): Promise<number> {
  const text = await (await fetch(`${node.http}/metrics`)).text();
  return Number(/^strand_consume_streams_waiting(?:\{[^}]*\})?\s+(\S+)/m.exec(text)?.[1] ?? "0");
}

/** Polls `condition` every 100 ms for up to 60 s. */
async function until(what: string, condition: () => Promise<boolean>): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (await condition()) return;
    await sleep(100);
  }
  throw new Error(`Timed out waiting for ${what}`);
}

/** A kernel setting (/proc/sys/…): its fields as numbers. */
function sysctl(path: string): number[] {
  return Deno.readTextFileSync(`/proc/sys/${path}`).trim().split(/\s+/).map(Number);
}

/**
 * What one stalled stream may make the node hold, by its own constants: what waits for the
 * client (beyond the window, in the native HTTP/2 session; or in the socket) and the write
 * that crossed the bound. A waiting stream holds no log records (it reads them again).
 */
function heldPerStreamBytes(hugeWindow: boolean): number {
  return (hugeWindow ? clientBacklogBytesMax : windowOverrunBytesMax) + rawWriteBytes;
}

/**
 * What passes through the node on its way to a stalled client before the kernel stops taking
 * it: with a window, the window; without one, what the kernel buffers on both ends
 * (net.ipv4.tcp_wmem max for the node's socket + tcp_rmem default for the client's, which
 * does not grow as the client never reads). It is garbage once sent, until V8 collects it
 * and the allocator reuses or returns it.
 */
function transitPerConnectionBytes(hugeWindow: boolean): number {
  return hugeWindow ? sysctl("net/ipv4/tcp_wmem")[2]! + sysctl("net/ipv4/tcp_rmem")[1]! : 65_535;
}

/**
 * Fixed cost of the case whatever the number of streams: V8's young generation filling to its
 * size (3 × the shipped --max-semi-space-size=4 MiB) and the runtime's first use of the paths
 * (code, allocator arenas of the threads that write), measured at 1 stream (docs/limits.md).
 */
const fixedOverheadBytes = 16 * MiB;
/**
 * Live memory outside the V8 heap that does not grow with streams: the log reader's cached
 * read-ahead run and the runtime's own buffers (measured 0.5–2.8 MiB at 1 to 16 streams).
 */
const fixedExternalBytes = READ_AHEAD_BYTES + 2 * MiB;
/**
 * Copies of each byte on its way to the kernel, garbage once the next one is made or it is
 * sent: the encoded message, our framed write, the runtime's HTTP/2 frame buffers (or its
 * queue past the window), the socket's gathered write.
 */
const transitCopies = 4;

async function stalledConsumers(): Promise<void> {
  for (const streams of STREAMS) {
    for (const huge of [false, true]) await stalledCase(streams, huge);
  }
}

/**
 * One node, `streams` stalled connections opened and closed CYCLES times: RSS growth while
 * they wait (what the collector has not reclaimed included), after a full GC, the node's live
 * external memory after it, and what stays after they close (a leak grows it every cycle).
 */
async function stalledCase(streams: number, huge: boolean): Promise<void> {
  const inspectPort = freeInspectorPort();
  const node = await startServe(root, undefined, [`--inspect=127.0.0.1:${inspectPort}`]);
  const client = new LogClient(node.rpc);
  let inspector: Inspector | null = null;
  try {
    inspector = await connectInspector(inspectPort);
    const batch = Array.from({ length: 500 }, () => new Uint8Array(1000).fill(97));
    for (let i = 0; i < 200; i++) await client.produceBatch(batch); // 100 MB
    await inspector.collectGarbage();
    const baseRss = rssBytes(node.pid);
    const baseExternal = (await inspector.memory()).external;
    const name = `stalled.${streams}.${huge ? "window2^31" : "default_window"}`;
    const held = streams * heldPerStreamBytes(huge);
    const transit = streams * transitPerConnectionBytes(huge);
    const closedRss: number[] = [];
    for (let cycle = 1; cycle <= CYCLES; cycle++) {
      const conns = [];
      for (let i = 0; i < streams; i++) {
        conns.push(await openStalledConsumer({ port: port(node.rpc), hugeWindow: huge }));
      }
      await until("every stream to wait", async () => (await streamsWaiting(node)) === streams);
      await sleep(2000); // the kernel's buffers are full by then; what came through is garbage
      const stalledRss = rssBytes(node.pid) - baseRss;
      await inspector.collectGarbage();
      const liveRss = rssBytes(node.pid) - baseRss;
      const external = (await inspector.memory()).external - baseExternal;
      for (const conn of conns) conn.close();
      await until("every stream to end", async () => (await streamsWaiting(node)) === 0);
      await sleep(1000);
      await inspector.collectGarbage();
      closedRss.push(rssBytes(node.pid) - baseRss);
      if (cycle > 1) continue; // later cycles only check what closing leaves
      report(
        `${name}.rss_growth`,
        stalledRss / MiB,
        "MiB",
        `before GC; bound: ${mb(fixedOverheadBytes)} fixed + ${transitCopies} copies × (${
          mb(held)
        } held + ${mb(transit)} the kernel took), garbage until V8 collects it = ${
          mb(fixedOverheadBytes + transitCopies * (held + transit))
        }`,
      );
      report(
        `${name}.rss_growth_after_gc`,
        liveRss / MiB,
        "MiB",
        `bound: ${mb(fixedOverheadBytes)} fixed + ${streams} × (${
          mb(heldPerStreamBytes(huge))
        } held + ${mb(transitPerConnectionBytes(huge))} kernel-bound transit) = ${
          mb(fixedOverheadBytes + held + transit)
        }`,
      );
      report(
        `${name}.live_external_after_gc`,
        external / MiB,
        "MiB",
        `bound: ${mb(fixedExternalBytes)} fixed + ${streams} × ${
          mb(heldPerStreamBytes(huge))
        } held = ${mb(fixedExternalBytes + held)} (server constants)`,
      );
    }
    // From the second cycle: the first one only raises the allocator's high-water mark.
    const from = Math.min(1, closedRss.length - 1);
    const perCycle = (closedRss.at(-1)! - closedRss[from]!) /
      Math.max(1, closedRss.length - 1 - from);
    report(
      `${name}.closed_rss_growth_per_cycle`,
      perCycle / MiB,
      "MiB",
      `after closing and GC, cycles ${closedRss.map((bytes) => mb(bytes)).join(", ")}; ` +
        "a leak grows it every cycle (bound: 0)",
    );
  } finally {
    inspector?.close();
    client.close();
    await node.stop();
  }
}

const preface = new TextEncoder().encode(
  "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\x00\x00\x00\x04\x00\x00\x00\x00\x00",
);

async function idleConnections(): Promise<void> {
  const node = await startServe(root, 20_000);
  const conns: Deno.TcpConn[] = [];
  try {
    const before = rssBytes(node.pid);
    for (let i = 0; i < 10_000; i++) {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port: port(node.rpc) });
      conns.push(conn);
      conn.write(preface).catch(() => {});
    }
    await sleep(3000);
    const grown = rssBytes(node.pid) - before;
    report(
      "idle.10000.rss_growth",
      grown / MiB,
      "MiB",
      `${(grown / 10_000 / 1024).toFixed(1)} KiB per connection; cap 45 % of STRAND_FD_LIMIT ` +
        "(9,000 here), closed after 5 min idle",
    );
  } finally {
    for (const conn of conns) conn.close();
    await node.stop();
  }
}

async function abandonedStreams(): Promise<void> {
  const node = await startServe(root);
  const conns: (Deno.TcpConn | Deno.TlsConn)[] = [];
  try {
    const before = rssBytes(node.pid);
    for (let i = 0; i < 100; i++) {
      conns.push(
        await openStalledConsumer({
          port: port(node.rpc),
          hugeWindow: false,
          streams: 100,
          offset: 0,
        }),
      );
    }
    await sleep(3000);
    const grown = rssBytes(node.pid) - before;
    report(
      "abandoned_streams.10000.rss_growth",
      grown / MiB,
      "MiB",
      `${(grown / 10_000 / 1024).toFixed(1)} KiB per stream; at most 100 streams per connection`,
    );
  } finally {
    for (const conn of conns) conn.close();
    await node.stop();
  }
}

/** A temporary checkout of `rev` (git archive) sharing this tree's node_modules. */
async function checkout(rev: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "strand-baseline-" });
  const archive = new Deno.Command("bash", {
    args: ["-c", `git -C "${root}" archive "${rev}" | tar -x -C "${dir}"`],
  });
  if (!(await archive.output()).success) throw new Error(`Cannot check out ${rev}`);
  await Deno.symlink(`${root}/node_modules`, `${dir}/node_modules`);
  return dir;
}

/** CPU seconds (user + system) the process used so far. */
function cpuSeconds(pid: number): number {
  const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1]!.split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks
}

/**
 * The client case's rate against `node`, and the server's CPU microseconds per operation
 * (steadier than the rate on a shared machine: it does not count time spent waiting).
 */
async function measured(name: string, node: Node): Promise<{ rate: number; cpuUs: number }> {
  const cpu = cpuSeconds(node.pid);
  const started = performance.now();
  const rate = await clientRate(name, node.rpc);
  const seconds = (performance.now() - started) / 1000;
  const ops = rate * SECS;
  return {
    rate,
    cpuUs: ((cpuSeconds(node.pid) - cpu) * 1e6) / Math.max(1, ops) * (SECS / seconds),
  };
}

async function clientRate(name: string, address: string): Promise<number> {
  const command = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      `${root}/bench/service_bench.ts`,
      `--client=${name}`,
      `--addr=${address}`,
      `--secs=${SECS}`,
    ],
    stdout: "piped",
    stderr: "inherit",
  });
  const output = new TextDecoder().decode((await command.output()).stdout).trim().split("\n");
  return JSON.parse(output.at(-1)!).rate as number;
}

/** V8 CPU profile flags for a server of `side` ("baseline" or "tree") under `--cpu-prof`. */
function profileArgs(side: string): string[] {
  return CPU_PROF === "" ? [] : ["--cpu-prof", `--cpu-prof-dir=${CPU_PROF}/${side}`];
}

async function throughput(): Promise<void> {
  const base = await checkout(BASELINE);
  const tree = TREE === "" ? root : await checkout(TREE);
  console.log(`throughput: ${TREE === "" ? "this tree" : TREE} against ${BASELINE}`);
  try {
    for (const name of CASES) {
      const ratios: number[] = [];
      const cpuRatios: number[] = [];
      const cpus: { was: number[]; now: number[] } = { was: [], now: [] };
      for (let round = 0; round < ROUNDS; round++) {
        const before = await startServe(base, undefined, profileArgs("baseline"));
        const was = await measured(name, before).finally(() => before.stop());
        const after = await startServe(tree, undefined, profileArgs("tree"));
        const now = await measured(name, after).finally(() => after.stop());
        cpus.was.push(was.cpuUs);
        cpus.now.push(now.cpuUs);
        ratios.push(now.rate / was.rate);
        cpuRatios.push(now.cpuUs / was.cpuUs);
        console.log(
          `  ${name} round ${round + 1}: baseline ${was.rate.toFixed(0)}/s ` +
            `${was.cpuUs.toFixed(1)} µs CPU/op, now ${now.rate.toFixed(0)}/s ${
              now.cpuUs.toFixed(1)
            } µs CPU/op`,
        );
      }
      const median = (values: number[]) =>
        values.toSorted((a, b) => a - b)[Math.floor(values.length / 2)]!;
      report(
        `produce.${name}.ratio_to_baseline`,
        median(ratios),
        "ratio",
        `median of ${ROUNDS} paired rounds`,
      );
      report(
        `produce.${name}.server_cpu_per_op_ratio`,
        median(cpuRatios),
        "ratio",
        "server CPU per operation, now / baseline (lower is cheaper)",
      );
      report(`produce.${name}.server_cpu_per_op.baseline`, median(cpus.was), "µs", "median");
      report(`produce.${name}.server_cpu_per_op.now`, median(cpus.now), "µs", "median");
    }
  } finally {
    await Deno.remove(base, { recursive: true });
    if (tree !== root) await Deno.remove(tree, { recursive: true });
  }
}

if (import.meta.main) {
  if (wanted("a")) await stalledConsumers();
  if (wanted("b")) await idleConnections();
  if (wanted("c")) await abandonedStreams();
  if (wanted("throughput")) await throughput();
}
