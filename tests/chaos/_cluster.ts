/**
 * A cluster of `serve` processes for chaos tests, started with the flags of `deno task start`
 * (tests/e2e/_node.ts) on a {@linkcode ChaosNet}: network namespaces (tests/chaos/_netns.ts)
 * or, without them, loopback behind fault-injecting proxies (tests/chaos/_proxy_net.ts).
 * Nodes can be killed and restarted, paused and resumed; the network cuts and heals links.
 * @module
 */
import { LogClient } from "../../client/mod.ts";
import { servePermissions } from "../e2e/_node.ts";

/** Where nodes run and how their links are cut. */
export interface ChaosNet {
  /** "netns" or "proxy": what cuts the links. */
  readonly kind: string;
  readonly size: number;
  /** The argv prefix that runs node `index` (e.g. `ip netns exec NS`). */
  execPrefix(index: number): string[];
  /** Address and port flags of node `index` (bind, advertise, ports). */
  nodeArgs(index: number): string[];
  /** Where the test's clients reach node `index`'s gRPC port (never cut). */
  clientAddr(index: number): string;
  /** The gossip address others join through. */
  seedAddr(): string;
  /** Cuts node `index` off its peers. */
  isolate(index: number): Promise<void>;
  /** Each group only reaches its own members. */
  split(groups: number[][]): Promise<void>;
  heal(): Promise<void>;
  close(): Promise<void>;
}

const mainPath = new URL("../../main.ts", import.meta.url).pathname;

/** One node process (restartable). */
export class ChaosNode {
  readonly index: number;
  readonly name: string;
  readonly rpcAddr: string;
  readonly client: LogClient;
  #process: Deno.ChildProcess | null = null;
  #exited: Promise<number> = Promise.resolve(0);
  #output = "";
  #paused = false;
  readonly #argv: string[];

  constructor(index: number, argv: string[], rpcAddr: string) {
    this.index = index;
    this.name = `n${index + 1}`;
    this.#argv = argv;
    this.rpcAddr = rpcAddr;
    this.client = new LogClient(rpcAddr);
  }

  /** Everything the node printed (all its lives). */
  output(): string {
    return this.#output;
  }

  get running(): boolean {
    return this.#process !== null;
  }

  /** Spawns the process; resolves once it printed its gRPC address. */
  async start(): Promise<void> {
    if (this.#process !== null) throw new Error(`${this.name} is already running`);
    const [program, ...args] = this.#argv as [string, ...string[]];
    const process = new Deno.Command(program, {
      args,
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    this.#process = process;
    const lifeStart = this.#output.length;
    let notify = () => {};
    const sink = (chunk: string) => {
      this.#output += chunk;
      notify();
    };
    const drained = Promise.all([collect(process.stdout, sink), collect(process.stderr, sink)]);
    this.#exited = process.status.then(async (status) => {
      await drained;
      return status.code;
    });
    const ready = new Promise<void>((resolve, reject) => {
      notify = () => {
        if (/gRPC\s+\S+/.test(this.#output.slice(lifeStart))) resolve();
      };
      this.#exited.then((code) => reject(new Error(`${this.name} exited with ${code}`)));
    });
    let timer: ReturnType<typeof setTimeout> | undefined;
    try {
      await Promise.race([
        ready,
        new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error(`${this.name} not ready in 30 s`)), 30_000);
        }),
      ]);
    } catch (error) {
      await this.kill();
      throw new Error(`${String(error)}:\n${this.#output.slice(lifeStart)}`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** SIGKILLs the process (resuming it first if paused) and waits for its exit. */
  async kill(): Promise<void> {
    const process = this.#process;
    if (process === null) return;
    try {
      process.kill("SIGKILL");
    } catch { /* already gone */ }
    await this.#exited;
    this.#process = null;
    this.#paused = false;
  }

  /** SIGSTOP: the process stays, but answers nothing. */
  pause(): void {
    this.#process?.kill("SIGSTOP");
    this.#paused = this.#process !== null;
  }

  /** SIGCONT after {@linkcode pause}. */
  resume(): void {
    if (this.#paused) this.#process?.kill("SIGCONT");
    this.#paused = false;
  }
}

async function collect(stream: ReadableStream<Uint8Array>, sink: (text: string) => void) {
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) sink(chunk);
}

/** N nodes in a lab; node 0 bootstraps, the others join it. */
export class ChaosCluster implements AsyncDisposable {
  readonly lab: ChaosNet;
  readonly nodes: ChaosNode[] = [];
  readonly base: string;

  private constructor(lab: ChaosNet, base: string) {
    this.lab = lab;
    this.base = base;
  }

  /** Starts one node per lab host and waits until all are voters under one leader. */
  static async start(lab: ChaosNet, extraArgs: string[] = []): Promise<ChaosCluster> {
    const base = await Deno.makeTempDir({ prefix: "strand-chaos-" });
    const cluster = new ChaosCluster(lab, base);
    try {
      const seed = lab.seedAddr();
      for (let index = 0; index < lab.size; index++) {
        const dataDir = `${base}/n${index + 1}`;
        await Deno.mkdir(dataDir);
        const role = index === 0 ? ["--bootstrap"] : ["--start-join-addrs", seed];
        const argv = [
          ...lab.execPrefix(index),
          Deno.execPath(),
          "run",
          ...servePermissions(dataDir),
          mainPath,
          "serve",
          ...["--data-dir", dataDir, "--node-name", `n${index + 1}`],
          ...lab.nodeArgs(index),
          ...["--log-format", "text", ...extraArgs, ...role],
        ];
        cluster.nodes.push(new ChaosNode(index, argv, lab.clientAddr(index)));
      }
      await cluster.nodes[0]!.start();
      await Promise.all(cluster.nodes.slice(1).map((node) => node.start()));
      await until("all voters under one leader", () => cluster.allVoters(), 30_000);
    } catch (error) {
      await cluster.close();
      throw error;
    }
    return cluster;
  }

  /** Every node reports all nodes as voters and the same single leader: that leader's index. */
  async allVoters(): Promise<number | null> {
    const leader = await this.agreedLeader(this.nodes.map((node) => node.index));
    if (leader === null) return null;
    const names = JSON.stringify(this.nodes.map((node) => node.name).sort());
    for (const node of this.nodes) {
      const lines = node.output().split("\n").filter((l) => l.includes("membership changed"));
      const last = lines[lines.length - 1] ?? "";
      const voters = /voters="(\[[^\]]*\])"/.exec(last)?.[1]?.replaceAll('\\"', '"');
      if (!last.includes("learners=[]") || voters === undefined) return null;
      if (JSON.stringify((JSON.parse(voters) as string[]).sort()) !== names) return null;
    }
    return leader;
  }

  /** The leader all of `indexes` report (exactly one each, the same), or null. */
  async agreedLeader(indexes: number[]): Promise<number | null> {
    let agreed: string | null = null;
    for (const index of indexes) {
      const servers = await withTimeout(this.nodes[index]!.client.getServers(), 2000);
      const leaders = servers.filter((server) => server.isLeader);
      if (leaders.length !== 1) return null;
      if (agreed !== null && agreed !== leaders[0]!.id) return null;
      agreed = leaders[0]!.id;
    }
    return agreed === null ? null : Number(agreed.slice(1)) - 1;
  }

  /** What node `index` says about the leader: its index, or null when it knows none. */
  async leaderSeenBy(index: number): Promise<number | null> {
    const servers = await withTimeout(this.nodes[index]!.client.getServers(), 2000);
    const leader = servers.find((server) => server.isLeader);
    return leader === undefined ? null : Number(leader.id.slice(1)) - 1;
  }

  /** Every node's output, for failure messages. */
  outputs(): string {
    return this.nodes.map((node) => `--- ${node.name}\n${node.output().slice(-4000)}`).join("\n");
  }

  /** Kills every process, removes the data, tears the lab down. */
  async close(): Promise<void> {
    for (const node of this.nodes) {
      node.client.close();
      await node.kill();
    }
    await Deno.remove(this.base, { recursive: true }).catch(() => {});
    await this.lab.close();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/** Rejects after `timeoutMs` (the promise itself keeps running). */
export function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  return Promise.race([
    promise,
    new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new TimeoutError(timeoutMs)), timeoutMs);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** A client call that did not answer in time: its outcome is unknown. */
export class TimeoutError extends Error {
  constructor(timeoutMs: number) {
    super(`no answer within ${timeoutMs} ms`);
  }
}

/** Polls `condition` until it returns a non-null value or the deadline passes (bounded). */
export async function until<T>(
  what: string,
  condition: () => Promise<T | null> | T | null,
  timeoutMs: number,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown = null;
  for (;;) {
    try {
      const value = await condition();
      if (value !== null) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `Timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last}` : ""}`,
      );
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Reads the whole log from `node` (ReadIndex-confirmed end); the values as strings. */
export async function readAll(node: ChaosNode, timeoutMs = 10_000): Promise<string[]> {
  const values: string[] = [];
  const decoder = new TextDecoder();
  const signal = AbortSignal.timeout(timeoutMs);
  for await (const record of node.client.consumeStream(0, { stopAtEnd: true, signal })) {
    if (Number(record.offset) !== values.length) {
      throw new Error(`${node.name}: offset ${record.offset} where ${values.length} was due`);
    }
    values.push(decoder.decode(record.value));
  }
  return values;
}
