/**
 * Real processes on loopback: three nodes with the file log and the TCP transport elect a
 * leader, replicate, lose the leader to SIGKILL, elect again, and lose nothing acknowledged.
 */

import { checkHistory, type Operation } from "../sim/raft/history.ts";
import { assert, assertEquals } from "./_harness.ts";

const FIXTURE = new URL("./fixtures/raft_node.ts", import.meta.url).pathname;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

interface Reply {
  id?: number;
  ok?: boolean;
  result?: Record<string, unknown>;
  error?: string;
  event?: string;
  port?: number;
}

class NodeProcess {
  readonly id: string;
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #waiters = new Map<number, (reply: Reply) => void>();
  readonly #reading: Promise<void>;
  readonly port: Promise<number>;
  #nextId = 1;
  alive = true;

  constructor(id: string, ids: string[], dataDir: string) {
    this.id = id;
    this.#child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        FIXTURE,
        "--id",
        id,
        "--ids",
        ids.join(","),
        "--data-dir",
        dataDir,
        "--listen",
        "127.0.0.1:0",
      ],
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#writer = this.#child.stdin.getWriter();
    const port = Promise.withResolvers<number>();
    this.port = port.promise;
    this.#reading = this.#read((reply) => {
      if (reply.event === "listening") port.resolve(reply.port as number);
    });
  }

  async #read(onEvent: (reply: Reply) => void): Promise<void> {
    let buffered = "";
    for await (const chunk of this.#child.stdout) {
      buffered += decoder.decode(chunk, { stream: true });
      for (let newline = buffered.indexOf("\n"); newline >= 0; newline = buffered.indexOf("\n")) {
        const reply = JSON.parse(buffered.slice(0, newline)) as Reply;
        buffered = buffered.slice(newline + 1);
        if (reply.id === undefined) onEvent(reply);
        else this.#waiters.get(reply.id)?.(reply);
      }
    }
  }

  /** Sends one request and waits (bounded) for its reply. */
  async request(op: Record<string, unknown>, timeoutMs = 15_000): Promise<Reply> {
    const id = this.#nextId++;
    const { promise, resolve, reject } = Promise.withResolvers<Reply>();
    const timer = setTimeout(
      () => reject(new Error(`${this.id}: no reply to ${op.op}`)),
      timeoutMs,
    );
    this.#waiters.set(id, resolve);
    await this.#writer.write(encoder.encode(JSON.stringify({ ...op, id }) + "\n"));
    try {
      return await promise;
    } finally {
      clearTimeout(timer);
      this.#waiters.delete(id);
    }
  }

  async status(): Promise<{ role: string; term: number; leader: string | null }> {
    const reply = await this.request({ op: "status" });
    return reply.result as { role: string; term: number; leader: string | null };
  }

  async kill(): Promise<void> {
    if (!this.alive) return;
    this.alive = false;
    this.#child.kill("SIGKILL");
    await this.#child.status;
    await this.#reading;
    await this.#writer.close().catch(() => {});
  }

  /** Graceful stop: closing stdin ends the node's control loop. */
  async stop(): Promise<void> {
    if (!this.alive) return;
    this.alive = false;
    await this.#writer.close().catch(() => {});
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), 10_000);
    await this.#child.status;
    clearTimeout(timer);
    await this.#reading;
  }
}

/** Polls every node until all live ones agree on a leader with term > `afterTerm`. */
async function awaitLeader(nodes: NodeProcess[], afterTerm: number): Promise<NodeProcess> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    const live = nodes.filter((node) => node.alive);
    const statuses = await Promise.all(live.map((node) => node.status()));
    const leader = statuses.find((status) => status.role === "leader" && status.term > afterTerm);
    if (
      leader !== undefined && statuses.every((s) => s.leader === live[statuses.indexOf(leader)]?.id)
    ) {
      return live[statuses.indexOf(leader)] as NodeProcess;
    }
    await new Promise((resolve) => setTimeout(resolve, 100)); // poll interval, bounded by the deadline
  }
  throw new Error("no leader elected within 30 s");
}

/** Client operations recorded as the history checker expects them. */
const history: Operation[] = [];

async function proposeAll(leader: NodeProcess, values: string[]): Promise<Map<string, number>> {
  const replies = await Promise.all(values.map(async (value) => {
    const invokeMs = performance.now();
    const reply = await leader.request({ op: "propose", value });
    const offset = reply.ok === true ? reply.result?.baseOffset as number : null;
    history.push({
      kind: "append",
      value,
      invokeMs,
      completeMs: performance.now(),
      outcome: reply.ok === true ? "ok" : "unknown",
      offset,
    });
    return reply;
  }));
  const offsets = new Map<string, number>();
  replies.forEach((reply, i) => {
    assert(reply.ok === true, `propose ${values[i]}: ${reply.error}`);
    offsets.set(values[i] as string, reply.result?.baseOffset as number);
  });
  return offsets;
}

/**
 * Linearizable reads on one node, recorded for the checker: the end of the log, then the
 * record at each offset in [fromOffset, toOffset), including some not written yet.
 */
async function readAll(node: NodeProcess, fromOffset: number, toOffset: number): Promise<void> {
  const invokeMs = performance.now();
  const reply = await node.request({ op: "readEnd" });
  const ok = reply.ok === true;
  const end = ok ? reply.result?.end as number : null;
  const outcome = ok ? "ok" : "unknown";
  history.push({ kind: "read", invokeMs, completeMs: performance.now(), outcome, end });
  await Promise.all(Array.from({ length: toOffset - fromOffset }, async (_, i) => {
    const offset = fromOffset + i;
    const invokeMs = performance.now();
    const reply = await node.request({ op: "readAt", offset });
    const ok = reply.ok === true;
    const value = ok ? reply.result?.value as string | null : null;
    const completeMs = performance.now();
    history.push({ kind: "readOffset", offset, invokeMs, completeMs, outcome, value });
  }));
}

Deno.test({
  name:
    "three processes: elect, replicate, SIGKILL the leader, elect again, lose nothing acknowledged",
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "strand_raft_" });
    const ids = ["a", "b", "c"];
    const nodes = ids.map((id) => new NodeProcess(id, ids, `${dir}/${id}`));
    try {
      const ports = await Promise.all(nodes.map((node) => node.port));
      const peers = Object.fromEntries(ids.map((id, i) => [id, `127.0.0.1:${ports[i]}`]));
      await Promise.all(nodes.map((node) => node.request({ op: "peers", peers })));
      const first = await awaitLeader(nodes, 0);
      const firstTerm = (await first.status()).term;
      const [acked] = await Promise.all([
        proposeAll(first, Array.from({ length: 30 }, (_, i) => `before-${i}`)),
        ...nodes.map((node) => readAll(node, 0, 34)),
      ]);
      await first.kill();
      const second = await awaitLeader(nodes, firstTerm);
      assert(second !== first, "a surviving node leads");
      const [afterAcked] = await Promise.all([
        proposeAll(second, ["after-0", "after-1", "after-2"]),
        ...nodes.filter((node) => node.alive).map((node) => readAll(node, 28, 36)),
      ]);
      for (const [value, offset] of afterAcked) {
        acked.set(value, offset);
      }
      for (const node of nodes.filter((n) => n.alive)) {
        await node.request({ op: "read" });
        const values = (await node.request({ op: "records" })).result?.values as string[];
        for (const [value, offset] of acked) {
          assertEquals(values[offset], value, `${node.id} holds ${value} at ${offset}`);
        }
        assertEquals(new Set(values).size, values.length, `${node.id} has no duplicates`);
        assertEquals(checkHistory(history, values), [], `${node.id}: history`);
      }
      const offsetReads = history.filter((op) => op.kind === "readOffset" && op.outcome === "ok");
      assert(offsetReads.some((op) => op.kind === "readOffset" && op.value !== null), "a hit");
      assert(offsetReads.some((op) => op.kind === "readOffset" && op.value === null), "a miss");
    } finally {
      await Promise.all(nodes.map((node) => node.stop()));
      await Deno.remove(dir, { recursive: true });
    }
  },
});
