/**
 * Multi-process clusters for the e2e tests: `serve` processes started as `deno task start`
 * does, with the book's cluster flags (`--node-name`, `--bind-addr`, `--bootstrap`,
 * `--start-join-addrs`) on free ports.
 */
import { LogClient, type LogClientOptions } from "../../client/mod.ts";
import { type Node, startNode } from "./_node.ts";

/** Polls `condition` every `everyMs` until it holds or the deadline passes (bounded). */
export async function until<T>(
  what: string | (() => string),
  condition: () => Promise<T | null | false> | T | null | false,
  timeoutMs = 15_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown = null;
  for (;;) {
    try {
      const value = await condition();
      if (value !== null && value !== false) return value as T;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const described = typeof what === "string" ? what : what();
      throw new Error(`Timed out waiting for ${described}${lastError ? `: ${lastError}` : ""}`);
    }
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** One member: its process, data dir and addresses. */
export interface Member {
  readonly name: string;
  readonly dataDir: string;
  node: Node;
  gossipAddr: string;
  client: LogClient;
}

/** The voters and learners a node last logged ("cluster: membership changed"). */
export function loggedMembership(node: Node): { voters: string[]; learners: string[] } | null {
  const lines = node.output().split("\n").filter((line) => line.includes("membership changed"));
  const last = lines[lines.length - 1];
  if (last === undefined) return null;
  const parse = (field: string) => {
    const match = new RegExp(`${field}=("(?:[^"\\\\]|\\\\.)*"|\\[\\])`).exec(last);
    if (match === null) return [];
    const raw = match[1]!;
    return raw === "[]" ? [] : JSON.parse(JSON.parse(raw)) as string[];
  };
  return { voters: parse("voters"), learners: parse("learners") };
}

/** A local cluster in temp dirs; `close()` stops every process and removes the dirs. */
export class TestCluster {
  readonly base: string;
  readonly members = new Map<string, Member>();
  readonly #extraArgs: string[];
  readonly #clientOptions: LogClientOptions;
  readonly #prepare: (dataDir: string) => Promise<string[]>;

  private constructor(
    base: string,
    extraArgs: string[],
    clientOptions: LogClientOptions,
    prepare: (dataDir: string) => Promise<string[]>,
  ) {
    this.base = base;
    this.#extraArgs = extraArgs;
    this.#clientOptions = clientOptions;
    this.#prepare = prepare;
  }

  /** Starts `names[0]` with `--bootstrap`, then the others joining it; waits for all voters. */
  static async start(
    names: string[],
    options: {
      extraArgs?: string[];
      clientOptions?: LogClientOptions;
      /** Fills a node's data dir before it starts (serve reads only its data dir); returns flags. */
      prepare?: (dataDir: string) => Promise<string[]>;
      /** Flags for one member's first start only (after `extraArgs`). */
      memberArgs?: Record<string, string[]>;
      /** A file size limit for one member's first start (see `startNode`'s `fileBlocksMax`). */
      memberFileBlocksMax?: Record<string, number>;
    } = {},
  ): Promise<TestCluster> {
    const base = await Deno.makeTempDir({ prefix: "strand-cluster-" });
    const cluster = new TestCluster(
      base,
      options.extraArgs ?? [],
      options.clientOptions ?? {},
      options.prepare ?? (() => Promise.resolve([])),
    );
    try {
      const [first, ...rest] = names as [string, ...string[]];
      const own = (name: string) => options.memberArgs?.[name] ?? [];
      const limit = (name: string) => ({ fileBlocksMax: options.memberFileBlocksMax?.[name] });
      await cluster.startMember(first, ["--bootstrap", ...own(first)], limit(first));
      const seed = cluster.get(first).gossipAddr;
      await Promise.all(
        rest.map((name) =>
          cluster.startMember(name, ["--start-join-addrs", seed, ...own(name)], limit(name))
        ),
      );
      await cluster.waitForVoters(names);
    } catch (error) {
      await cluster.close();
      throw error;
    }
    return cluster;
  }

  /** The member called `name`. */
  get(name: string): Member {
    const member = this.members.get(name);
    if (member === undefined) throw new Error(`no member ${name}`);
    return member;
  }

  /** Starts (or restarts, on its data dir) member `name` with the shipped flags. */
  async startMember(
    name: string,
    args: string[],
    options: { fileBlocksMax?: number | undefined } = {},
  ): Promise<Member> {
    const dataDir = `${this.base}/${name}`;
    await Deno.mkdir(dataDir, { recursive: true });
    const prepared = await this.#prepare(dataDir);
    const node = await startNode(dataDir, [
      ...prepared,
      "--node-name",
      name,
      "--bind-addr",
      "127.0.0.1:0",
      "--log-format",
      "text",
      ...this.#extraArgs,
      ...args,
    ], options);
    const gossipAddr = /gossip\s+(\S+)/.exec(node.output())?.[1] ?? "";
    if (gossipAddr === "") {
      await node.stop("SIGKILL");
      throw new Error(`${name} printed no gossip address:\n${node.output()}`);
    }
    const client = new LogClient(node.rpcAddr, this.#clientOptions);
    const old = this.members.get(name);
    old?.client.close();
    const member: Member = { name, dataDir, node, gossipAddr, client };
    this.members.set(name, member);
    return member;
  }

  /** Waits until every running member logged `voters` as the voters and agrees on one leader. */
  async waitForVoters(voters: string[], timeoutMs = 20_000): Promise<string> {
    const wanted = JSON.stringify([...voters].sort());
    const seen = () =>
      this.live().map((member) =>
        `${member.name}: ${JSON.stringify(loggedMembership(member.node))}\n${member.node.output()}`
      ).join("\n");
    return await until(() => `voters ${wanted}; logged:\n${seen()}`, async () => {
      for (const member of this.live()) {
        const logged = loggedMembership(member.node);
        if (logged === null || JSON.stringify(logged.voters) !== wanted) return null;
        if (logged.learners.length > 0) return null;
      }
      return await this.leader();
    }, timeoutMs);
  }

  /** Members not stopped by the test. */
  live(): Member[] {
    return [...this.members.values()].filter((member) => !stopped.has(member));
  }

  /** The leader every live member reports in GetServers, or null when they disagree. */
  async leader(): Promise<string | null> {
    let agreed: string | null = null;
    for (const member of this.live()) {
      const servers = await member.client.getServers();
      const leaders = servers.filter((server) => server.isLeader);
      if (leaders.length !== 1) return null;
      const id = leaders[0]!.id;
      if (agreed !== null && agreed !== id) return null;
      agreed = id;
    }
    return agreed;
  }

  /** Stops `name` with `signal` and waits for its exit code. */
  async stop(name: string, signal: Deno.Signal = "SIGTERM"): Promise<number> {
    const member = this.get(name);
    stopped.add(member);
    member.client.close();
    return await member.node.stop(signal);
  }

  /** Restarts a stopped member on its data dir. */
  async restart(name: string, args: string[]): Promise<Member> {
    const old = this.get(name);
    stopped.delete(old);
    const member = await this.startMember(name, args);
    return member;
  }

  /** Stops every process (SIGKILL: the tests own no state worth a graceful stop) and cleans up. */
  async close(): Promise<void> {
    for (const member of this.members.values()) {
      member.client.close();
      if (!stopped.has(member)) {
        stopped.add(member);
        await member.node.stop("SIGKILL");
      }
    }
    await Deno.remove(this.base, { recursive: true }).catch(() => {});
  }
}

const stopped = new WeakSet<Member>();
