/**
 * The driver: runs a {@linkcode RaftCore} with real timers, durable storage and a transport,
 * doing the IO in the order safety needs — persist (truncate, state, entries), then send,
 * then apply and serve reads, then advance. One Ready is in flight at a time; proposals that
 * arrive meanwhile pile up in the core and are persisted together by the next Ready (group
 * commit: one append + one fsync for all of them).
 * @module
 */

import type { Entry, EntryStore, MetaStore } from "../log/mod.ts";
import { RaftCore } from "./_leader.ts";
import { RaftError } from "./_membership.ts";
import type { ConfigChange, Membership, Message, NodeId } from "./_messages.ts";
import {
  decodePersistentState,
  encodePersistentState,
  type RaftOptions,
  type RaftRandom,
  type RaftStatus,
  type Ready,
} from "./_options.ts";

/** Where a committed append landed. */
export interface Committed {
  readonly index: number;
  readonly baseOffset: number;
}

/** Options of {@linkcode RaftNode}; core tuning fields are passed through. */
export interface RaftNodeOptions extends
  Omit<
    RaftOptions,
    "store" | "random" | "persisted" | "bootstrap"
  > {
  readonly store: EntryStore;
  readonly meta: MetaStore;
  /** Delivers messages to peers (e.g. {@linkcode PeerTransport.send}). */
  readonly send: (message: Message) => void;
  /** Membership of a brand-new cluster (ignored when state was saved before). */
  readonly bootstrap?: Membership;
  /** Milliseconds per tick. Default {@linkcode DEFAULT_TICK_MS}. */
  readonly tickMs?: number;
  /** How long propose/read wait before rejecting with `TIMEOUT`. Default 10 000 ms. */
  readonly requestTimeoutMs?: number;
  /** Called with every committed entry, in order, after it is durable locally. */
  readonly onApply?: (entry: Entry) => void;
  /** Randomness for election timeouts. Default: crypto.getRandomValues. */
  readonly random?: RaftRandom;
  /** Where ticks and request timeouts come from. Default {@linkcode realTimers}. */
  readonly timers?: RaftTimers;
}

/** The timers the driver runs on; the simulator passes simulated ones. */
export interface RaftTimers {
  /** Runs `run` every `periodMs` until the returned function is called. */
  every(periodMs: number, run: () => void): () => void;
  /** Runs `run` once after `delayMs` unless the returned function is called first. */
  after(delayMs: number, run: () => void): () => void;
}

/** The runtime's setInterval/setTimeout. */
export const realTimers: RaftTimers = {
  every(periodMs, run) {
    const id = setInterval(run, periodMs);
    return () => clearInterval(id);
  },
  after(delayMs, run) {
    const id = setTimeout(run, delayMs);
    return () => clearTimeout(id);
  },
};

/**
 * Milliseconds per tick by default: with the default 10-tick election timeout a follower
 * campaigns 400–800 ms after the last heartbeat, and a new leader is in place within a second
 * of a leader failure in 99.6 % of simulated crashes (p99 751 ms; see `deno task bench raft`).
 */
export const DEFAULT_TICK_MS = 40;

const cryptoRandom: RaftRandom = {
  intBelow(maxExclusive: number): number {
    return (crypto.getRandomValues(new Uint32Array(1))[0] as number) % maxExclusive;
  },
};

interface Waiter<T> {
  resolve(value: T): void;
  reject(error: Error): void;
  cancelTimeout: () => void;
}

/**
 * A running Raft node.
 *
 * @example
 * ```ts
 * const node = new RaftNode({ id: "a", store, meta, send: (m) => transport.send(m), bootstrap });
 * const { baseOffset } = await node.propose([new TextEncoder().encode("hello")]);
 * await node.close();
 * ```
 */
export class RaftNode {
  readonly #core: RaftCore;
  readonly #options: RaftNodeOptions;
  readonly #timers: RaftTimers;
  readonly #stopTicking: () => void;
  readonly #proposals = new Map<number, Waiter<Committed> & { term: number }>();
  readonly #reads = new Map<string, Waiter<number>>();
  readonly #readyReads: { readId: string; index: number }[] = [];
  #appliedIndex = 0;
  /** The high watermark: consumers may read offsets below it (committed, durable here). */
  #appliedNextOffset = 0;
  #readSeq = 0;
  #loop: Promise<void> | null = null;
  #failure: Error | null = null;
  #closed = false;

  constructor(options: RaftNodeOptions) {
    this.#options = options;
    const saved = options.meta.load();
    this.#core = new RaftCore({
      ...options,
      random: options.random ?? cryptoRandom,
      persisted: saved === null ? null : decodePersistentState(saved),
    });
    this.#appliedIndex = options.store.firstIndex() - 1;
    this.#appliedNextOffset = offsetAt(options.store, options.store.firstIndex());
    this.#timers = options.timers ?? realTimers;
    this.#stopTicking = this.#timers.every(
      options.tickMs ?? DEFAULT_TICK_MS,
      () => this.#input(() => this.#core.tick()),
    );
  }

  /** This node's id. */
  get id(): NodeId {
    return this.#core.id;
  }

  /** Volatile state (role, term, leader, commit index, membership). */
  status(): RaftStatus & { appliedIndex: number; appliedNextOffset: number } {
    return {
      ...this.#core.status(),
      appliedIndex: this.#appliedIndex,
      appliedNextOffset: this.#appliedNextOffset,
    };
  }

  /** The leader's view of its followers (see {@linkcode RaftCore.followers}). */
  followers(): ReturnType<RaftCore["followers"]> {
    return this.#core.followers();
  }

  /** Hands a peer's message to the core. */
  step(message: Message): void {
    this.#input(() => this.#core.step(message));
  }

  /** Appends a batch of records; resolves once committed and applied here. */
  propose(records: readonly Uint8Array[]): Promise<Committed> {
    return this.#propose(() => this.#core.propose(records));
  }

  /** Proposes a one-server membership change; resolves once committed and applied here. */
  changeMembership(change: ConfigChange): Promise<Committed> {
    return this.#propose(() => this.#core.proposeConfigChange(change));
  }

  /** Asks the leader to hand leadership to `to`. */
  transferLeadership(to: NodeId): void {
    this.#checkOpen();
    this.#core.transferLeadership(to);
    this.#kick();
  }

  /**
   * A linearizable read barrier (ReadIndex): resolves with an index once this node has
   * applied everything committed when the read started. Works on followers too.
   */
  readBarrier(): Promise<number> {
    try {
      this.#checkOpen();
    } catch (error) {
      return Promise.reject(error);
    }
    const readId = `${this.id}:${++this.#readSeq}`;
    const promise = this.#wait(this.#reads, readId);
    try {
      this.#core.readIndex(readId);
    } catch (error) {
      this.#settle(this.#reads, readId, error as Error);
    }
    this.#kick();
    return promise;
  }

  /** Stops timers and the loop; pending requests reject. Does not close the store. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    this.#stopTicking();
    await this.#loop;
    const stopped = new RaftError("NO_LEADER", `Cannot complete: node ${this.id} stopped`);
    for (const key of [...this.#proposals.keys()]) this.#settle(this.#proposals, key, stopped);
    for (const key of [...this.#reads.keys()]) this.#settle(this.#reads, key, stopped);
  }

  #checkOpen(): void {
    if (this.#failure !== null) throw this.#failure;
    if (this.#closed) throw new RaftError("NO_LEADER", `Cannot serve: node ${this.id} stopped`);
  }

  /** Errors (not leader, overloaded, stopped) come back as a rejected promise. */
  #propose(make: () => { index: number; term: number }): Promise<Committed> {
    try {
      this.#checkOpen();
      const { index, term } = make();
      const promise = this.#wait(this.#proposals, index, { term });
      this.#kick();
      return promise;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  #wait<K, T>(map: Map<K, Waiter<T>>, key: K, extra: object = {}): Promise<T> {
    const { promise, resolve, reject } = Promise.withResolvers<T>();
    const timeoutMs = this.#options.requestTimeoutMs ?? 10_000;
    const cancelTimeout = this.#timers.after(timeoutMs, () => {
      this.#settle(
        map,
        key,
        new RaftError("NO_LEADER", `Cannot complete within ${timeoutMs} ms: no quorum answered`),
      );
    });
    map.set(key, { resolve, reject, cancelTimeout, ...extra });
    return promise;
  }

  #settle<K, T>(map: Map<K, Waiter<T>>, key: K, outcome: Error | T): void {
    const waiter = map.get(key);
    if (waiter === undefined) return;
    map.delete(key);
    waiter.cancelTimeout();
    if (outcome instanceof Error) waiter.reject(outcome);
    else waiter.resolve(outcome);
  }

  #input(action: () => void): void {
    if (this.#closed || this.#failure !== null) return;
    action();
    this.#kick();
  }

  #kick(): void {
    if (this.#loop === null && this.#core.hasReady()) {
      this.#loop = this.#run().finally(() => {
        this.#loop = null;
        if (!this.#closed && this.#failure === null) this.#kick();
      });
    }
  }

  async #run(): Promise<void> {
    try {
      for (let round = 0; round < 1000 && this.#core.hasReady(); round++) {
        const ready = this.#core.ready();
        await this.#persist(ready);
        for (const message of ready.messages) this.#options.send(message);
        for (const entry of ready.committed) this.#apply(entry);
        this.#readyReads.push(...ready.readStates);
        this.#serveReads();
        this.#core.advance(ready);
      }
    } catch (error) {
      // Storage failed: stop taking part (fail-stop) rather than acknowledge what is not durable.
      this.#failure = error instanceof Error ? error : new Error(String(error));
      this.#stopTicking();
    }
  }

  async #persist(ready: Ready): Promise<void> {
    const { store, meta } = this.#options;
    const { restart, truncateFrom, entries } = ready.persist;
    if (restart !== null) await store.restartAt(restart.index, restart.term, restart.nextOffset);
    if (truncateFrom !== null) await store.truncateSuffix(truncateFrom);
    if (ready.state !== null) await meta.save(encodePersistentState(ready.state));
    if (entries.length > 0) await store.appendEntries(entries);
  }

  #apply(entry: Entry): void {
    this.#appliedIndex = entry.index;
    this.#appliedNextOffset = entry.baseOffset + entry.records.length;
    this.#options.onApply?.(entry);
    const waiter = this.#proposals.get(entry.index);
    if (waiter === undefined) return;
    const outcome = waiter.term === entry.term
      ? { index: entry.index, baseOffset: entry.baseOffset }
      : new RaftError("NOT_LEADER", `Cannot append: entry ${entry.index} was replaced`);
    this.#settle(this.#proposals, entry.index, outcome);
  }

  #serveReads(): void {
    for (let i = this.#readyReads.length - 1; i >= 0; i--) {
      const read = this.#readyReads[i] as { readId: string; index: number };
      if (read.index > this.#appliedIndex) continue;
      this.#readyReads.splice(i, 1);
      this.#settle(this.#reads, read.readId, read.index);
    }
  }
}

/** The offset of the first record at or after entry `index` (the next offset if none). */
function offsetAt(store: EntryStore, index: number): number {
  if (index > store.lastIndex()) return store.nextOffset();
  return (store.entries(index, index + 1, 0)[0] as Entry).baseOffset;
}
