/**
 * The driver: runs a {@linkcode RaftCore} with real timers, durable storage and a transport,
 * doing the IO in the order safety needs — persist (snapshot state + restart, or truncate +
 * state; then entries), then send, then apply and serve reads, then advance. One Ready is in
 * flight at a time; proposals that arrive meanwhile pile up in the core and are persisted
 * together by the next Ready (group commit: one append + one fsync for all of them). What a
 * leader sends needs no local persistence first, so it leaves at once, even while a write
 * is in flight: a slow disk never delays heartbeats. Committed entries are durable here by
 * the time the core hands them out, so they are applied at once too — before the Ready's
 * own write, and while a write is in flight — not after the next fsync: a quorum's
 * acknowledgement reaches the client without waiting for the leader's next write.
 *
 * Failures: storage errors stop the node (fail-stop: never acknowledge what is not
 * durable) and settle every request still waiting at once (see {@linkcode RaftNode.propose});
 * a peer's bad message, or one that cannot be sent, is dropped, counted
 * ({@linkcode RaftNode.stats}) and logged.
 * @module
 */

import type { Entry, EntryStore, MetaStore } from "../log/mod.ts";
import { FRAME_BYTES_MAX, FRAME_OVERHEAD_BYTES } from "./_codec.ts";
import { RaftCore } from "./_leader.ts";
import { RaftError } from "./_membership.ts";
import {
  type ConfigChange,
  type Membership,
  type Message,
  MessageType,
  type NodeId,
} from "./_messages.ts";
import {
  decodePersistentState,
  encodePersistentState,
  pendingRestart,
  type RaftOptions,
  type RaftRandom,
  type RaftStatus,
  type Ready,
} from "./_options.ts";
import { consoleLogger, type RaftLogger } from "./_transport.ts";

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
  /**
   * How long propose/read wait. A proposal that times out rejects with `UNKNOWN_OUTCOME` (it
   * was appended and may still commit: do not retry blindly); a read with `NO_LEADER`.
   * Default 10 000 ms.
   */
  readonly requestTimeoutMs?: number;
  /** Called with every committed entry, in order, after it is durable locally. */
  readonly onApply?: (entry: Entry) => void;
  /** Randomness for election timeouts. Default: crypto.getRandomValues. */
  readonly random?: RaftRandom;
  /**
   * What the store promises when an append resolves: `"fsync"` (durable: Raft's guarantees
   * hold) or `"none"` (written but not synced, e.g. fsync interval/never: a power loss on a
   * majority can lose acknowledged entries). Reported in {@linkcode RaftNode.status}; `"none"`
   * is logged as a warning at start. Default `"fsync"`.
   */
  readonly durability?: Durability;
  /**
   * What the `"none"` warning tells the operator to change, e.g. the flag that sets the fsync
   * policy. Default: `use fsync "always" for full durability`.
   */
  readonly durabilityHint?: string;
  /**
   * The largest entry payload the store accepts (the log's batch limit), checked against the
   * peer frame limit at construction: an entry that cannot fit one frame could never
   * replicate. Default: not checked beyond `appendBytesMax`.
   */
  readonly entryBytesMax?: number;
  /** Where dropped messages and the durability warning are logged. Default: the console. */
  readonly logger?: RaftLogger;
  /** Where ticks and request timeouts come from. Default {@linkcode realTimers}. */
  readonly timers?: RaftTimers;
}

/** Whether acknowledged entries are synced to disk (see {@linkcode RaftNodeOptions.durability}). */
export type Durability = "fsync" | "none";

/** Counters of a {@linkcode RaftNode}, for metrics. All only ever grow. */
export interface RaftNodeStats {
  /** Peer messages dropped because the core refused them (malformed, or a bug they hit). */
  droppedMessages: number;
  /** Outgoing messages whose `send` threw (dropped). */
  sendErrors: number;
  /** Elections this node started. */
  electionsStarted: number;
  /** Times the transport reported a peer unreachable ({@linkcode RaftNode.reportUnreachable}). */
  unreachableReports: number;
}

/**
 * Payload bytes an entry may hold to still fit one peer frame with its headers. Proposals
 * above it are refused (`TOO_LARGE`), limits above it refuse to start.
 */
export const ENTRY_BYTES_MAX = FRAME_BYTES_MAX - FRAME_OVERHEAD_BYTES;

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

/**
 * What the driver knows of a waiting proposal. `handedOut`: its entry was handed to storage
 * or to a peer (so it may be appended somewhere); until then it exists only in this process.
 */
interface Proposal {
  handedOut: boolean;
}

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
  /**
   * Waiting proposals by entry index, then term. Two at one index: this node's entry there was
   * overwritten by another leader's and it proposed there again in a later term; each keeps
   * its own waiter, timeout and outcome.
   */
  readonly #proposals = new Map<number, Map<number, Waiter<Committed> & Proposal>>();
  readonly #reads = new Map<string, Waiter<number>>();
  readonly #readyReads: { readId: string; index: number }[] = [];
  #appliedIndex = 0;
  /** The high watermark: consumers may read offsets below it (committed, durable here). */
  #appliedNextOffset = 0;
  #readSeq = 0;
  /** Makes read ids unique across restarts: an answer meant for an earlier process never matches. */
  readonly #readNonce = randomNonce();
  readonly #stats = { droppedMessages: 0, sendErrors: 0, unreachableReports: 0 };
  readonly #logger: RaftLogger;
  #loop: Promise<void> | null = null;
  /** Entries are being applied: a nested kick leaves later ones to the running apply. */
  #applying = false;
  /** Set once storage failed (fail-stop): every later request is refused with it. */
  #failure: RaftError | null = null;
  #closed = false;

  constructor(options: RaftNodeOptions) {
    checkFrameLimits(options);
    this.#options = options;
    this.#logger = options.logger ?? consoleLogger;
    const saved = options.meta.load();
    const persisted = saved === null ? null : decodePersistentState(saved);
    this.#core = new RaftCore({ ...options, random: options.random ?? cryptoRandom, persisted });
    const restart = pendingRestart(persisted, options.store);
    this.#appliedIndex = restart?.index ?? options.store.firstIndex() - 1;
    this.#appliedNextOffset = restart?.nextOffset ??
      offsetAt(options.store, options.store.firstIndex());
    if (options.durability === "none") {
      this.#logger.warn(
        `Raft node ${this.#core.id} acknowledges entries before they are synced to disk: a power loss on a majority can lose acknowledged records (${
          options.durabilityHint ?? 'use fsync "always" for full durability'
        })`,
        { durability: "none" },
      );
    }
    this.#timers = options.timers ?? realTimers;
    this.#stopTicking = this.#timers.every(
      options.tickMs ?? DEFAULT_TICK_MS,
      () => this.#input(() => this.#core.tick()),
    );
    // Saved work may be pending already (a restart to redo after a crash, bootstrap state).
    this.#kick();
  }

  /** This node's id. */
  get id(): NodeId {
    return this.#core.id;
  }

  /**
   * Volatile state (role, term, leader, commit index, membership) and the durability mode.
   * A leader whose storage failed names no leader: it must not send clients to itself (a
   * failed follower still names the leader it knew, which can take forwarded writes).
   */
  status(): RaftStatus & {
    appliedIndex: number;
    appliedNextOffset: number;
    durability: Durability;
  } {
    const status = this.#core.status();
    return {
      ...status,
      leader: this.#failure !== null && status.leader === this.id ? null : status.leader,
      appliedIndex: this.#appliedIndex,
      appliedNextOffset: this.#appliedNextOffset,
      durability: this.#options.durability ?? "fsync",
    };
  }

  /** Counters for metrics (a copy). */
  stats(): RaftNodeStats {
    return { ...this.#stats, ...this.#core.counters() };
  }

  /**
   * The transport dropped messages to `id` (wire {@linkcode PeerTransportOptions.onDrop}
   * here): the leader resends from what `id` acknowledged instead of waiting for a gap.
   */
  reportUnreachable(id: NodeId): void {
    this.#stats.unreachableReports++;
    // Deferred: transports report drops from inside send(), i.e. from inside this driver's
    // loop; acting synchronously there would start a second loop that appends out of order.
    queueMicrotask(() => this.#input(() => this.#core.reportUnreachable(id)));
  }

  /** The leader's view of its followers (see {@linkcode RaftCore.followers}). */
  followers(): ReturnType<RaftCore["followers"]> {
    return this.#core.followers();
  }

  /**
   * Hands a peer's message to the core. Never throws: a message the core refuses (malformed,
   * or one that hits a bug) is dropped, counted and logged; the node carries on.
   */
  step(message: Message): void {
    this.#input(() => {
      try {
        this.#core.step(message);
      } catch (error) {
        this.#stats.droppedMessages++;
        this.#logger.error(`Dropping a Raft message from ${message.from}`, {
          type: message.type,
          error: String(error),
        });
      }
    });
  }

  /**
   * Appends a batch of records; resolves once committed and applied here. Rejects with a
   * {@linkcode RaftError}: `NOT_LEADER`/`NO_LEADER`/`OVERLOADED`/`TOO_LARGE` when nothing
   * was appended, `UNKNOWN_OUTCOME` when it was appended but not seen committed in time (it
   * may still commit). When this node's storage fails while the proposal waits, it rejects
   * then, not at its timeout: `UNKNOWN_OUTCOME` if its entry had reached the disk or a peer
   * (a new leader may still commit it), `STORAGE_FAILED` if it never left this process.
   * `options.data`: batch data stored in the entry (see `Entry.data`), handed back to
   * `onApply` on every node.
   */
  propose(records: readonly Uint8Array[], options: { data?: Uint8Array } = {}): Promise<Committed> {
    let bytes = options.data?.byteLength ?? 0;
    for (const record of records) bytes += record.byteLength;
    if (bytes > ENTRY_BYTES_MAX) {
      return Promise.reject(
        new RaftError(
          "TOO_LARGE",
          `Cannot append ${bytes} bytes in one batch: peers accept at most ${ENTRY_BYTES_MAX}; split the batch`,
        ),
      );
    }
    return this.#propose(() => this.#core.propose(records, options.data));
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
   * applied everything committed when the read started. Works on followers too. Rejects with
   * `STORAGE_FAILED` as soon as this node's storage fails (it will apply nothing more).
   */
  readBarrier(): Promise<number> {
    try {
      this.#checkOpen();
    } catch (error) {
      return Promise.reject(error);
    }
    const readId = `${this.id}:${this.#readNonce}:${++this.#readSeq}`;
    const promise = this.#wait(this.#reads, readId, {}, (timeoutMs) => {
      this.#core.cancelRead(readId);
      this.#settle(
        this.#reads,
        readId,
        new RaftError(
          "NO_LEADER",
          `Cannot complete a read within ${timeoutMs} ms: no quorum answered`,
        ),
      );
    });
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
    const unknown = new RaftError(
      "UNKNOWN_OUTCOME",
      `Cannot confirm the append: node ${this.id} stopped before it committed (it may still commit)`,
    );
    this.#settleEveryProposal(() => unknown);
    const stopped = new RaftError("NO_LEADER", `Cannot complete: node ${this.id} stopped`);
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
      let waiters = this.#proposals.get(index);
      if (waiters === undefined) this.#proposals.set(index, waiters = new Map());
      const promise = this.#wait(waiters, term, { handedOut: false }, (timeoutMs) => {
        // An appended proposal may still commit: its outcome is unknown, not a failure.
        const error = new RaftError(
          "UNKNOWN_OUTCOME",
          `Cannot confirm the append within ${timeoutMs} ms: it may still commit; read back before retrying`,
        );
        this.#settleProposal(index, term, error);
      });
      this.#kick();
      return promise;
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Registers a waiter under `key`; `timedOut` settles it (and only it) at the timeout. */
  #wait<K, T>(
    map: Map<K, Waiter<T>>,
    key: K,
    extra: object,
    timedOut: (timeoutMs: number) => void,
  ): Promise<T> {
    const { promise, resolve, reject } = Promise.withResolvers<T>();
    const timeoutMs = this.#options.requestTimeoutMs ?? 10_000;
    const cancelTimeout = this.#timers.after(timeoutMs, () => timedOut(timeoutMs));
    map.set(key, { resolve, reject, cancelTimeout, ...extra });
    return promise;
  }

  #settleProposal(index: number, term: number, outcome: Error | Committed): void {
    const waiters = this.#proposals.get(index);
    if (waiters === undefined) return;
    this.#settle(waiters, term, outcome);
    if (waiters.size === 0) this.#proposals.delete(index);
  }

  /** Settles every waiting proposal with the error `outcome` gives it. */
  #settleEveryProposal(outcome: (proposal: Proposal) => Error): void {
    for (const [index, waiters] of [...this.#proposals]) {
      for (const [term, waiter] of [...waiters]) this.#settleProposal(index, term, outcome(waiter));
    }
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
    try {
      action();
    } catch (error) {
      // A tick or a step that reads the log (entries to send, terms to match) and fails:
      // the storage failed (a core refusal of a peer's message is caught in `step`).
      this.#failStop(error);
      return;
    }
    this.#kick();
  }

  #kick(): void {
    // A write is in flight: what may leave before persistence leaves now, and what was
    // committed meanwhile (durable here already) is applied now. Reading those entries can
    // fail (a disk read error) outside the loop's own try: that too stops the node.
    if (this.#loop !== null) {
      try {
        this.#sendAll(this.#core.takeEarlyMessages());
        if (!this.#applying) this.#applyAll(this.#core.takeCommitted());
      } catch (error) {
        this.#failStop(error);
        return;
      }
    }
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
        this.#sendAll(this.#core.takeEarlyMessages());
        const ready = this.#core.ready();
        // Committed entries were durable before this Ready: applying them needs no write.
        this.#applyAll(ready.committed);
        this.#handOut(ready.persist.entries);
        await this.#persist(ready);
        if (this.#failure !== null) return; // a read failed meanwhile (see #kick)
        this.#sendAll(ready.messages);
        this.#readyReads.push(...ready.readStates);
        this.#serveReads();
        this.#core.advance(ready);
      }
    } catch (error) {
      this.#failStop(error);
    }
  }

  /** Storage failed: stop taking part (fail-stop) rather than acknowledge what is not durable. */
  #failStop(error: unknown): void {
    if (this.#failure !== null) return;
    this.#failure = storageFailure(this.id, error);
    this.#stopTicking();
    this.#logger.error(this.#failure.message, { code: "STORAGE_FAILED", error: String(error) });
    this.#settleFailed(this.#failure);
  }

  /**
   * Storage failed: this node will apply nothing more, so nothing waiting can complete here.
   * Settle it now rather than at its timeout. A proposal whose entry reached the disk (the
   * failed write may have landed) or a peer may still be committed by the next leader: its
   * outcome is unknown. One never handed out was appended nowhere.
   */
  #settleFailed(failure: RaftError): void {
    const unknown = new RaftError(
      "UNKNOWN_OUTCOME",
      `Cannot confirm the append: node ${this.id}'s storage failed after the entry was written to its disk or sent to a peer, so it may still commit under a new leader; read back before retrying`,
      null,
      { cause: failure.cause },
    );
    this.#settleEveryProposal((proposal) => proposal.handedOut ? unknown : failure);
    for (const readId of [...this.#reads.keys()]) this.#settle(this.#reads, readId, failure);
  }

  /** A message that cannot be sent (e.g. not encodable) is dropped, not a storage failure. */
  #sendAll(messages: readonly Message[]): void {
    for (const message of messages) {
      if (message.type === MessageType.Append) this.#handOut(message.entries);
      try {
        this.#options.send(message);
      } catch (error) {
        this.#stats.sendErrors++;
        this.#logger.error(`Dropping a Raft message to ${message.to}: sending failed`, {
          type: message.type,
          error: String(error),
        });
      }
    }
  }

  /** Marks the proposals of `entries` as having left this process (see {@linkcode Proposal}). */
  #handOut(entries: readonly Entry[]): void {
    if (this.#proposals.size === 0) return;
    for (const entry of entries) {
      const waiter = this.#proposals.get(entry.index)?.get(entry.term);
      if (waiter !== undefined) waiter.handedOut = true;
    }
  }

  async #persist(ready: Ready): Promise<void> {
    const { store, meta } = this.#options;
    const { restart, truncateFrom, entries } = ready.persist;
    if (restart !== null) {
      // State (snapshot configuration, term, vote and the restart point) first: a crash
      // before the restart is redone at the next start (see pendingRestart), so the node
      // never holds the restarted log under an older configuration.
      if (ready.state === null) throw new Error("Cannot restart the log: no state to save first");
      await meta.save(encodePersistentState(ready.state));
      await store.restartAt(restart.index, restart.term, restart.nextOffset);
      this.#appliedIndex = restart.index;
      this.#appliedNextOffset = restart.nextOffset;
    }
    if (truncateFrom !== null) await store.truncateSuffix(truncateFrom);
    if (ready.state !== null && restart === null) {
      await meta.save(encodePersistentState(ready.state));
    }
    if (entries.length > 0) await store.appendEntries(entries);
  }

  /** Applies `entries` in order and serves the reads they make ready. */
  #applyAll(entries: readonly Entry[]): void {
    if (entries.length === 0) return;
    this.#applying = true;
    try {
      for (const entry of entries) this.#apply(entry);
    } finally {
      this.#applying = false;
    }
    this.#serveReads();
  }

  #apply(entry: Entry): void {
    this.#appliedIndex = entry.index;
    this.#appliedNextOffset = entry.baseOffset + entry.records.length;
    this.#options.onApply?.(entry);
    const waiters = this.#proposals.get(entry.index);
    if (waiters === undefined) return;
    // The entry committed at this index is final: a proposal of another term there never commits.
    for (const term of [...waiters.keys()]) {
      const outcome = term === entry.term
        ? { index: entry.index, baseOffset: entry.baseOffset }
        : new RaftError("NOT_LEADER", `Cannot append: entry ${entry.index} was replaced`);
      this.#settleProposal(entry.index, term, outcome);
    }
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

/** Refuses limits under which an AppendEntries frame could exceed what peers accept. */
function checkFrameLimits(options: RaftNodeOptions): void {
  for (
    const [name, value] of [
      ["appendBytesMax", options.appendBytesMax ?? 1 << 20],
      ["entryBytesMax", options.entryBytesMax ?? 0],
    ] as const
  ) {
    if (value > ENTRY_BYTES_MAX) {
      throw new RangeError(
        `Cannot start Raft: ${name} ${value} leaves no room in a ${FRAME_BYTES_MAX}-byte peer frame; lower it to ${ENTRY_BYTES_MAX} or less`,
      );
    }
  }
}

function randomNonce(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** The offset of the first record at or after entry `index` (the next offset if none). */
function offsetAt(store: EntryStore, index: number): number {
  if (index > store.lastIndex()) return store.nextOffset();
  return (store.entries(index, index + 1, 0)[0] as Entry).baseOffset;
}

/** The error every request gets once `id`'s storage failed; `cause` is the storage's own error. */
function storageFailure(id: NodeId, cause: unknown): RaftError {
  const what = cause instanceof Error ? cause.message : String(cause);
  return new RaftError(
    "STORAGE_FAILED",
    `Cannot serve on node ${id}: its storage failed (${what}), so it stopped taking part in the cluster rather than acknowledge writes that are not durable; send requests to another node, and restart this one once its disk is fixed`,
    null,
    { cause },
  );
}
