/**
 * `deno task bench cluster`: a three-node cluster against a single node in the same run, all
 * started as `deno task start` starts them, durable (`--fsync always`) on this machine (the
 * nodes and the client share the CPUs). Prints records/s per workload and the ratio of three
 * nodes to one; then the failover time over repeated SIGKILLs of the leader: from the kill
 * until a write is accepted again (p50, p99, max).
 *
 * Both setups run side by side and each workload alternates between them in short slices
 * (single, cluster, cluster, single, …), so that both see the same load from whatever else
 * runs on the machine: measured one after the other, a load change between the two phases
 * moved the batched ratio between 0.3 and 0.8 from one run to the next.
 *
 * Flags: `--secs=N` per workload and setup (default 5), `--slices=N` it is cut into (default
 * 5), `--only=NAME[,NAME]` workloads to run (unary.c64, stream.1rec, batch.500x100B),
 * `--kills=N` (default 20), `--quick` (2 s, 5 kills).
 * @module
 */
import { LogClient } from "../client/mod.ts";
import { startNode } from "../tests/e2e/_node.ts";
import { TestCluster, until } from "../tests/e2e/_cluster.ts";

const quick = Deno.args.includes("--quick");
const flag = (name: string, fallback: number) => {
  const raw = Deno.args.find((arg) => arg.startsWith(`--${name}=`));
  return raw === undefined ? fallback : Number(raw.slice(name.length + 3));
};
const secs = flag("secs", quick ? 2 : 5);
const slices = Math.max(1, flag("slices", quick ? 2 : 5));
const kills = flag("kills", quick ? 5 : 20);
const only = Deno.args.find((arg) => arg.startsWith("--only="))?.slice("--only=".length)
  .split(",");
const value = new Uint8Array(100).fill(120);

/** A workload: records acknowledged within `ms`. */
type Workload = (client: LogClient, ms: number) => Promise<number>;

async function unaryC64(client: LogClient, ms: number): Promise<number> {
  const deadline = performance.now() + ms;
  let count = 0;
  await Promise.all(Array.from({ length: 64 }, async () => {
    while (performance.now() < deadline) {
      await client.produce(value);
      count++;
    }
  }));
  return count;
}

async function streamOnePerMessage(client: LogClient, ms: number): Promise<number> {
  const stream = client.produceStream();
  const deadline = performance.now() + ms;
  let count = 0;
  let inFlight = 0;
  // One waiter for "a slot freed", not Promise.race over every pending send: racing 1,024
  // promises per record made the client, not the nodes, the bottleneck (~300 µs CPU/record).
  let slotFreed: (() => void) | null = null;
  const settled = () => {
    inFlight--;
    slotFreed?.();
    slotFreed = null;
  };
  while (performance.now() < deadline) {
    inFlight++;
    stream.send([value]).then(() => count++).finally(settled);
    if (inFlight >= 1024) await new Promise<void>((resolve) => slotFreed = resolve);
  }
  while (inFlight > 0) await new Promise<void>((resolve) => slotFreed = resolve);
  stream.end();
  return count;
}

async function batched(client: LogClient, ms: number): Promise<number> {
  const batch = Array.from({ length: 500 }, () => value);
  const deadline = performance.now() + ms;
  let count = 0;
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (performance.now() < deadline) {
      await client.produceBatch(batch);
      count += batch.length;
    }
  }));
  return count;
}

const workloads: [string, Workload][] = ([
  ["unary.c64", unaryC64],
  ["stream.1rec", streamOnePerMessage],
  ["batch.500x100B", batched],
] as [string, Workload][]).filter(([name]) => only === undefined || only.includes(name));

/** Rates of one workload on both setups, and the ratio of each pair of adjacent slices. */
interface Measured {
  readonly one: number;
  readonly three: number;
  readonly sliceRatios: number[];
}

/** CPU time (user + system, ms) a process used so far, from /proc (null where there is none). */
function cpuMs(pid: number): number | null {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(fields[11]) + Number(fields[12])) * 10; // utime, stime in 10 ms ticks
  } catch {
    return null;
  }
}

/** Processes whose CPU time is counted per setup: label and pid. */
interface CpuWatch {
  readonly one: [string, number][];
  readonly three: [string, number][];
}

/** CPU ms per process over the slices of one setup; records produced in them. */
class CpuTally {
  readonly ms = new Map<string, number>();
  records = 0;
  async around(processes: [string, number][], run: () => Promise<number>): Promise<number> {
    const before = processes.map(([, pid]) => cpuMs(pid));
    const count = await run();
    processes.forEach(([label, pid], i) => {
      const start = before[i];
      const end = cpuMs(pid);
      if (start === null || start === undefined || end === null) return;
      this.ms.set(label, (this.ms.get(label) ?? 0) + end - start);
    });
    this.records += count;
    return count;
  }
  /** "label µs" per record, and the sum. */
  format(): string {
    const parts = [...this.ms].map(([label, ms]) =>
      `${label} ${(ms * 1000 / Math.max(1, this.records)).toFixed(2)}`
    );
    const sum = [...this.ms.values()].reduce((a, b) => a + b, 0);
    return `${parts.join(", ")}; total ${(sum * 1000 / Math.max(1, this.records)).toFixed(2)}`;
  }
}

/** Runs `run` on both setups in alternating slices; records/s over the whole time of each. */
async function alternate(
  name: string,
  run: Workload,
  one: LogClient,
  three: LogClient,
  watch: CpuWatch,
): Promise<Measured> {
  const tallies = { one: new CpuTally(), three: new CpuTally() };
  const sliceMs = (secs * 1000) / slices;
  let oneCount = 0;
  let threeCount = 0;
  const sliceRatios: number[] = [];
  for (let slice = 0; slice < slices; slice++) {
    // Who goes first alternates, so neither setup always runs on a warmer or colder machine.
    const [a, b] = slice % 2 === 0 ? [one, three] : [three, one];
    const timed = (client: LogClient) =>
      client === one
        ? tallies.one.around(watch.one, () => run(client, sliceMs))
        : tallies.three.around(watch.three, () => run(client, sliceMs));
    const first = await timed(a);
    const second = await timed(b);
    const [single, cluster] = a === one ? [first, second] : [second, first];
    oneCount += single;
    threeCount += cluster;
    sliceRatios.push(cluster / single);
  }
  // CPU µs per record of each process while its setup ran (the bench process is the client).
  console.log(`${name} CPU µs/record, 1 node: ${tallies.one.format()}`);
  console.log(`${name} CPU µs/record, 3 nodes: ${tallies.three.format()}`);
  return { one: oneCount / secs, three: threeCount / secs, sliceRatios };
}

async function throughput(cluster: TestCluster): Promise<Map<string, Measured>> {
  const dir = await Deno.makeTempDir({ prefix: "strand-bench-single-" });
  const node = await startNode(dir, ["--bind-addr", "127.0.0.1:0", "--log-level", "warn"]);
  const single = new LogClient(node.rpcAddr);
  const results = new Map<string, Measured>();
  try {
    const leader = (await cluster.leader())!;
    const followers = cluster.live().filter((member) => member.name !== leader);
    const watch: CpuWatch = {
      one: [["node", node.process.pid], ["client", Deno.pid]],
      three: [
        ["leader", cluster.get(leader).node.process.pid],
        ...followers.map((member, i): [string, number] => [
          `follower${i + 1}`,
          member.node.process.pid,
        ]),
        ["client", Deno.pid],
      ],
    };
    for (const [name, run] of workloads) {
      results.set(name, await alternate(name, run, single, cluster.get(leader).client, watch));
    }
  } finally {
    single.close();
    await node.stop();
    await Deno.remove(dir, { recursive: true });
  }
  return results;
}

async function threeNodes(): Promise<number[]> {
  const cluster = await TestCluster.start(["n1", "n2", "n3"]);
  const failoverMs: number[] = [];
  try {
    printThroughput(await throughput(cluster));
    for (let i = 0; i < kills; i++) failoverMs.push(await failover(cluster));
  } finally {
    await cluster.close();
  }
  return failoverMs;
}

/** Kills the leader; returns the ms until a survivor accepts a write; restarts the victim. */
async function failover(cluster: TestCluster): Promise<number> {
  const leader = await until("a leader", () => cluster.leader(), 30_000);
  const survivor = cluster.live().find((member) => member.name !== leader)!;
  const seed = survivor.gossipAddr;
  const killedAt = performance.now();
  await cluster.stop(leader, "SIGKILL");
  await until(
    "a write after the kill",
    async () => {
      try {
        await survivor.client.produce(value);
        return true;
      } catch {
        return false;
      }
    },
    30_000,
    5,
  );
  const elapsed = performance.now() - killedAt;
  await cluster.restart(leader, leader === "n1" ? ["--bootstrap"] : ["--start-join-addrs", seed]);
  await cluster.waitForVoters(["n1", "n2", "n3"], 30_000);
  return elapsed;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN;
}

function printThroughput(results: Map<string, Measured>): void {
  console.log(
    `workload          1 node rec/s   3 nodes rec/s   ratio   slice ratios min..max   (fsync always, ${secs} s each in ${slices} alternating slices)`,
  );
  for (const [name, { one, three, sliceRatios }] of results) {
    const sorted = sliceRatios.toSorted((a, b) => a - b);
    console.log(
      `${name.padEnd(16)} ${one.toFixed(0).padStart(13)} ${three.toFixed(0).padStart(15)} ${
        (three / one).toFixed(2).padStart(7)
      }   ${(sorted[0] ?? NaN).toFixed(2)}..${(sorted[sorted.length - 1] ?? NaN).toFixed(2)}`,
    );
    console.log(JSON.stringify({ name: `cluster.${name}.1node`, value: one, unit: "records/s" }));
    console.log(
      JSON.stringify({ name: `cluster.${name}.3nodes`, value: three, unit: "records/s" }),
    );
    console.log(JSON.stringify({ name: `cluster.${name}.ratio`, value: three / one, unit: "x" }));
  }
}

const failoverMs = await threeNodes();
const sorted = failoverMs.toSorted((a, b) => a - b);
console.log(
  `failover over ${sorted.length} leader SIGKILLs: p50 ${
    percentile(sorted, 50).toFixed(0)
  } ms, p99 ${percentile(sorted, 99).toFixed(0)} ms, max ${
    (sorted[sorted.length - 1] ?? NaN).toFixed(0)
  } ms`,
);
console.log(`  all (ms): ${sorted.map((ms) => ms.toFixed(0)).join(" ")}`);
console.log(
  JSON.stringify({ name: "cluster.failover.p50", value: percentile(sorted, 50), unit: "ms" }),
);
console.log(
  JSON.stringify({ name: "cluster.failover.p99", value: percentile(sorted, 99), unit: "ms" }),
);
