/**
 * Setup shared by the driver tests (`RaftNode` with real timers): an in-memory meta store,
 * three drivers over an in-process network, bounded polling and rejection helpers.
 * @module
 */

import { EntryKind, type EntryStore, MemoryLog, type MetaStore } from "../../log/mod.ts";
import {
  type Message,
  MessageType,
  RaftError,
  RaftNode,
  type RaftNodeOptions,
} from "../../raft/mod.ts";
import { assert } from "./_harness.ts";

/** Raft's state in memory (what a driver saves, the next one loads). */
export class MemoryMeta implements MetaStore {
  bytes: Uint8Array | null = null;
  load(): Uint8Array | null {
    return this.bytes;
  }
  save(bytes: Uint8Array): Promise<void> {
    this.bytes = bytes;
    return Promise.resolve();
  }
}

/** A logger that drops the driver's warnings and errors. */
export const quiet = { warn: () => {}, error: () => {} };

/**
 * Polls `find` (a state the nodes reach on their own timers) until it returns a value other
 * than false, null or undefined, and returns it; throws after `ms`.
 */
export async function until<T>(
  find: () => T,
  what = "a condition",
  ms = 10_000,
): Promise<Exclude<T, false | null | undefined>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const found = find();
    if (found !== false && found !== null && found !== undefined) {
      return found as Exclude<T, false | null | undefined>;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2)); // poll, bounded by the deadline
  }
}

/** The {@linkcode RaftError} `promise` rejects with (fails if it resolves or throws another). */
export async function rejection(promise: Promise<unknown>): Promise<RaftError> {
  try {
    await promise;
  } catch (error) {
    assert(error instanceof RaftError, `expected a RaftError, got ${error}`);
    return error;
  }
  throw new Error("expected a rejection");
}

/** What {@linkcode driverCluster} returns. */
export interface DriverCluster {
  readonly nodes: Map<string, RaftNode>;
  /** Messages from these nodes are dropped. */
  readonly cut: Set<string>;
  /** Every message delivered so far, in order. */
  readonly delivered: Message[];
  /** Hands `message` to its addressee now (for messages the test held back). */
  deliver(message: Message): void;
  /** Waits (bounded) until one node leads; returns it. */
  leader(): Promise<RaftNode>;
  /** Closes every node and drops undelivered messages. */
  close(): Promise<void>;
}

/**
 * Three drivers (a, b, c) over an in-process network that delivers on a later macrotask.
 * `store` gives a node its log (a fresh `MemoryLog` by default), `extra` its other options;
 * `hold` may keep a message from the network (return true: the test delivers it, or not).
 */
export function driverCluster(options: {
  store?: (id: string) => EntryStore;
  extra?: (id: string) => Partial<RaftNodeOptions>;
  hold?: (message: Message) => boolean;
} = {}): DriverCluster {
  const ids = ["a", "b", "c"];
  const nodes = new Map<string, RaftNode>();
  const cut = new Set<string>();
  const delivered: Message[] = [];
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const deliver = (message: Message) => {
    delivered.push(message);
    nodes.get(message.to)?.step(message);
  };
  for (const id of ids) {
    nodes.set(
      id,
      new RaftNode({
        id,
        store: options.store?.(id) ?? new MemoryLog(),
        meta: new MemoryMeta(),
        bootstrap: { voters: ids, learners: [] },
        tickMs: 5,
        requestTimeoutMs: 5_000,
        send: (message) => {
          if (cut.has(message.from) || options.hold?.(message)) return;
          const timer = setTimeout(() => {
            timers.delete(timer);
            deliver(message);
          }, 0);
          timers.add(timer);
        },
        ...options.extra?.(id),
      }),
    );
  }
  return {
    nodes,
    cut,
    delivered,
    deliver,
    leader: () =>
      until(() => [...nodes.values()].find((n) => n.status().role === "leader"), "a leader"),
    async close() {
      await Promise.all([...nodes.values()].map((node) => node.close()));
      for (const timer of timers) clearTimeout(timer);
    },
  };
}

/** Leader "a"'s first append to "b" (term 1): one records entry at index 1, nothing before it. */
export function firstAppend(records: Uint8Array[], data = new Uint8Array()): Message {
  return {
    type: MessageType.Append,
    from: "a",
    to: "b",
    term: 1,
    prevIndex: 0,
    prevTerm: 0,
    commit: 0,
    entries: [{ term: 1, index: 1, kind: EntryKind.Records, baseOffset: 0, records, data }],
  };
}
