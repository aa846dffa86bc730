/**
 * Scripted in-memory clusters for the Raft unit tests: nodes over `MemoryLog`, a network
 * the test controls message by message (cuts, filters), and a driver that persists every
 * Ready before delivering its messages.
 * @module
 */

import { type Entry, MemoryLog } from "../../log/mod.ts";
import {
  decodePersistentState,
  encodePersistentState,
  type Message,
  RaftCore,
  type RaftOptions,
  type ReadState,
  type Ready,
} from "../../raft/mod.ts";

/** Throws unless `condition` holds. */
export function assert(condition: unknown, message = "assertion failed"): asserts condition {
  if (!condition) throw new Error(message);
}

/** Throws unless the two values are equal as JSON. */
export function assertEquals(actual: unknown, expected: unknown, message = ""): void {
  const a = JSON.stringify(actual);
  const b = JSON.stringify(expected);
  if (a !== b) throw new Error(`${message}\n  actual:   ${a}\n  expected: ${b}`);
}

/** Returns the error `fn` throws, asserting it has `code`. */
export function assertThrowsCode(fn: () => unknown, code: string): Error & { code: string } {
  try {
    fn();
  } catch (error) {
    const coded = error as Error & { code: string };
    assertEquals(coded.code, code, `wrong error: ${coded.message}`);
    return coded;
  }
  throw new Error(`expected an error with code ${code}`);
}

/** No randomness: every election timeout is exactly `electionTimeoutTicks`. */
export const fixedRandom = { intBelow: () => 0 };

type CoreOptions = Partial<Omit<RaftOptions, "id" | "store" | "persisted">>;

/** One node: its core, its durable log and state, and what it applied. */
export class TestNode {
  readonly id: string;
  store = new MemoryLog();
  meta: Uint8Array | null = null;
  core: RaftCore;
  applied: Entry[] = [];
  readStates: ReadState[] = [];
  readonly #options: CoreOptions;

  constructor(id: string, options: CoreOptions) {
    this.id = id;
    this.#options = options;
    this.core = this.#open();
  }

  #open(): RaftCore {
    return new RaftCore({
      random: fixedRandom,
      ...this.#options,
      id: this.id,
      store: this.store,
      persisted: this.meta === null ? null : decodePersistentState(this.meta),
    });
  }

  /** A process restart: volatile state is lost, the log and saved state remain. */
  restart(): void {
    this.core = this.#open();
    this.applied = [];
  }

  /** Persists a Ready as the driver must: state then restart, or truncate then state; entries. */
  async persist(ready: Ready): Promise<void> {
    const { restart, truncateFrom, entries } = ready.persist;
    if (restart !== null && ready.state !== null) {
      this.meta = encodePersistentState(ready.state);
      await this.store.restartAt(restart.index, restart.term, restart.nextOffset);
    }
    if (truncateFrom !== null) await this.store.truncateSuffix(truncateFrom);
    if (ready.state !== null && restart === null) this.meta = encodePersistentState(ready.state);
    if (entries.length > 0) await this.store.appendEntries(entries);
  }
}

/** A cluster whose network delivers only when told to. */
export class TestCluster {
  readonly nodes = new Map<string, TestNode>();
  /** Messages sent and not yet delivered. */
  inbox: Message[] = [];
  /** Directed cuts "a>b". */
  readonly cuts = new Set<string>();
  readonly timeoutTicks: number;

  constructor(ids: readonly string[], options: CoreOptions = {}) {
    this.timeoutTicks = options.electionTimeoutTicks ?? 10;
    const bootstrap = { voters: ids.slice(), learners: [] };
    for (const id of ids) this.nodes.set(id, new TestNode(id, { bootstrap, ...options }));
  }

  /** Adds a node that is not (yet) a member, e.g. to be added as a learner. */
  addNode(id: string, options: CoreOptions): TestNode {
    const node = new TestNode(id, options);
    this.nodes.set(id, node);
    return node;
  }

  node(id: string): TestNode {
    const node = this.nodes.get(id);
    assert(node !== undefined, `no node ${id}`);
    return node;
  }

  core(id: string): RaftCore {
    return this.node(id).core;
  }

  /** Cuts `id` off from everyone, both ways. */
  isolate(id: string): void {
    for (const other of this.nodes.keys()) {
      if (other === id) continue;
      this.cuts.add(`${id}>${other}`);
      this.cuts.add(`${other}>${id}`);
    }
  }

  /** Drives every node's Ready loop once (persist, then queue messages, then apply). */
  async flush(): Promise<void> {
    for (const node of this.nodes.values()) {
      for (let round = 0; round < 100 && node.core.hasReady(); round++) {
        const ready = node.core.ready();
        await node.persist(ready);
        this.inbox.push(...ready.messages);
        node.applied.push(...ready.committed);
        node.readStates.push(...ready.readStates);
        node.core.advance(ready);
      }
    }
  }

  /** Delivers messages until the network is quiet (bounded). */
  async settle(roundsMax = 100): Promise<void> {
    for (let round = 0; round < roundsMax; round++) {
      await this.flush();
      if (this.inbox.length === 0) return;
      const batch = this.inbox;
      this.inbox = [];
      for (const message of batch) this.deliver(message);
    }
    throw new Error(`the network did not settle within ${roundsMax} rounds`);
  }

  /** Delivers one message unless a cut drops it. */
  deliver(message: Message): void {
    if (this.cuts.has(`${message.from}>${message.to}`)) return;
    this.nodes.get(message.to)?.core.step(message);
  }

  /** Ticks one node `count` times, then settles. */
  async tick(id: string, count: number): Promise<void> {
    for (let i = 0; i < count; i++) this.core(id).tick();
    await this.settle();
  }

  /** Makes `id` time out and campaign, then settles. */
  async elect(id: string): Promise<void> {
    await this.tick(id, this.timeoutTicks);
  }

  /** Ticks every node once (leaders heartbeat), then settles. */
  async tickAll(count = 1): Promise<void> {
    for (let i = 0; i < count; i++) {
      for (const node of this.nodes.values()) node.core.tick();
      await this.settle();
    }
  }
}

/** Encodes record values. */
export function records(...values: string[]): Uint8Array[] {
  const encoder = new TextEncoder();
  return values.map((value) => encoder.encode(value));
}

/** The record values a node applied, in order. */
export function appliedValues(node: TestNode): string[] {
  const decoder = new TextDecoder();
  return node.applied.flatMap((entry) => entry.records.map((record) => decoder.decode(record)));
}
