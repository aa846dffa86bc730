/**
 * The cluster's CommitLog: the file log is Raft's entry store, Raft decides what is committed.
 * Consumers see records below the high watermark (committed and applied here); appends go
 * through the leader — proposed here when this node leads, forwarded to it otherwise.
 * @module
 */
import { type Entry, EntryKind, type FileLog, LogError, type LogRecord } from "../log/mod.ts";
import { RaftError, type RaftNode } from "../raft/mod.ts";
import { type AppendAck, type CommitLog, OffsetWaiters, type ProducerRef } from "../server/mod.ts";
import {
  decodeProducerData,
  type GatedLog,
  ProducerGate,
  ProducerTable,
  type ProducerTableOptions,
} from "./_producers.ts";

/** Where a follower sends appends: the leader's id and RPC address, and how to reach it. */
export interface LeaderRoute {
  /** The leader this node knows of and its RPC address ("" when not known yet). */
  leader(): { id: string; rpcAddr: string } | null;
  /** Appends `values` (from `producer`, when given) on the leader. */
  forward(
    leader: { id: string; rpcAddr: string },
    values: Uint8Array[],
    producer?: ProducerRef,
  ): Promise<AppendAck>;
}

/** How long a read barrier may wait for the leader before the read is refused as UNAVAILABLE. */
const readBarrierTimeoutMs = 3000;

/** Serves a Raft-replicated {@linkcode FileLog} to the server. */
export class RaftCommitLog implements CommitLog {
  readonly #store: FileLog;
  readonly #route: LeaderRoute;
  readonly #waiters: OffsetWaiters;
  #node: RaftNode | null = null;
  /** Offset after the last committed record applied here. */
  #highWatermark: number;
  /** Offset after what this node knew committed at start (the replay below it is no news). */
  readonly #hintOffset: number;
  readonly #gate: ProducerGate;
  /** Index of the last entry applied here (0: none since start). */
  #appliedIndex = 0;
  /** The term in which this node, leading, applied every entry of earlier terms. */
  #caughtUpTerm = -1;

  /**
   * `committedIndexHint`: an index this node saw committed before it stopped. Committed
   * entries are never truncated, so their records are served at once after a restart,
   * without waiting for a leader to confirm them again.
   */
  constructor(
    store: FileLog,
    route: LeaderRoute,
    committedIndexHint = 0,
    options: { producers?: ProducerTableOptions } = {},
  ) {
    this.#store = store;
    this.#route = route;
    this.#gate = new ProducerGate(new ProducerTable(options.producers));
    this.#hintOffset = offsetAfterIndex(store, committedIndexHint);
    this.#highWatermark = this.#hintOffset;
    this.#waiters = new OffsetWaiters(() => this.nextOffset());
  }

  /** Attaches the Raft node (created after this log, as its `onApply` calls back here). */
  attach(node: RaftNode): void {
    this.#node = node;
  }

  /** The producer table, filled from applied batches (for metrics and tests). */
  get producers(): ProducerTable {
    return this.#gate.table;
  }

  /**
   * Raft applied a committed entry: its records become readable, tailing readers wake, and a
   * batch naming a producer enters the producer table.
   */
  onApply(entry: Entry): void {
    // Entries skipped (the log restarted at a snapshot): the table no longer matches the log,
    // and a stale "last batch" would refuse a producer's next one. Forget, as after retention.
    if (this.#appliedIndex > 0 && entry.index !== this.#appliedIndex + 1) {
      this.#gate.table.clear();
    }
    this.#appliedIndex = entry.index;
    this.#highWatermark = entry.baseOffset + entry.records.length;
    if (entry.kind === EntryKind.Records && entry.data.length > 0) {
      const producer = decodeProducerData(entry.data);
      if (producer !== null) {
        this.#gate.table.record(
          producer.id,
          producer.sequence,
          entry.baseOffset,
          entry.records.length,
        );
      }
    }
    if (entry.records.length > 0) this.#waiters.notify();
  }

  append(values: Uint8Array[], producer?: ProducerRef): Promise<AppendAck> {
    const node = this.#node;
    if (node === null) return Promise.reject(new RaftError("NO_LEADER", "Cannot append: starting"));
    if (node.status().role === "leader") return this.appendHere(values, producer);
    const leader = this.#route.leader();
    if (leader === null || leader.rpcAddr === "") {
      return Promise.reject(
        new RaftError(
          "NO_LEADER",
          "Cannot append: the cluster has no leader right now (an election is running or a quorum is down); retry shortly",
        ),
      );
    }
    return this.#route.forward(leader, values, producer);
  }

  /**
   * Appends only if this node leads; never forwards. A batch naming a producer is first
   * checked against the producer table (see {@linkcode ProducerGate}).
   */
  async appendHere(values: Uint8Array[], producer?: ProducerRef): Promise<AppendAck> {
    const node = this.#node;
    if (node === null) throw new RaftError("NO_LEADER", "Cannot append: starting");
    if (producer !== undefined) {
      return await this.#gate.append(producer, values.length, this.#gated(node, values));
    }
    const { baseOffset, index } = await node.propose(values);
    return { baseOffset, ...ackOf(node, index) };
  }

  #gated(node: RaftNode, values: Uint8Array[]): GatedLog {
    return {
      epoch: () => this.#caughtUpTermOf(node),
      append: async (data) => {
        const { baseOffset, index } = await node.propose(values, { data });
        return { baseOffset, ...ackOf(node, index) };
      },
      // Committed and applied here: held by every voter whose match reaches the commit index.
      duplicateAck: (baseOffset, count) => ({
        baseOffset,
        count,
        duplicate: true,
        ...ackOf(node, node.status().commitIndex),
      }),
      mayStillAppend: (error) => (error as { code?: unknown }).code === "UNKNOWN_OUTCOME",
    };
  }

  /**
   * The current term, once this node (leading) has applied every entry of earlier terms: a
   * new leader's table lacks the batches the old leader appended until they apply here. A
   * read barrier waits for the leader's first commit in its term, then for it to apply.
   */
  async #caughtUpTermOf(node: RaftNode): Promise<number> {
    const { role, term } = node.status();
    if (role !== "leader") {
      throw new RaftError("NOT_LEADER", "Cannot append: this node no longer leads; retry");
    }
    if (this.#caughtUpTerm === term) return term;
    await node.readBarrier();
    const now = node.status();
    if (now.role !== "leader" || now.term !== term) {
      throw new RaftError("NOT_LEADER", "Cannot append: leadership changed; retry");
    }
    this.#caughtUpTerm = term;
    return term;
  }

  /** Resolves once everything committed cluster-wide when called is applied here. */
  async readBarrier(): Promise<void> {
    const node = this.#node;
    if (node === null) {
      throw new RaftError("NO_LEADER", "Cannot confirm the end of the log: starting");
    }
    let timer: ReturnType<typeof setTimeout> | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () =>
          reject(
            new RaftError(
              "NO_LEADER",
              `Cannot confirm the end of the log within ${readBarrierTimeoutMs} ms: no leader answered; retry shortly`,
            ),
          ),
        readBarrierTimeoutMs,
      );
    });
    try {
      await Promise.race([node.readBarrier(), timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  read(offset: number): LogRecord {
    this.#checkReadable(offset);
    return this.#store.read(offset);
  }

  readFrom(offset: number, bytesMax: number): LogRecord[] {
    const end = this.nextOffset();
    if (offset >= end) return [];
    const records = this.#store.readFrom(offset, bytesMax);
    const past = records.findIndex((record) => record.offset >= end);
    return past < 0 ? records : records.slice(0, past);
  }

  firstOffset(): number {
    return this.#store.firstOffset();
  }

  nextOffset(): number {
    // After a snapshot restart the store begins past what was applied before it.
    return Math.max(this.#highWatermark, this.#hintOffset, this.#store.firstOffset());
  }

  waitForOffset(offset: number, signal: AbortSignal): Promise<void> {
    return this.#waiters.wait(offset, signal);
  }

  /** Wakes every waiting consumer for good (before the log closes). */
  close(): void {
    this.#waiters.close();
  }

  #checkReadable(offset: number): void {
    const first = this.firstOffset();
    const next = this.nextOffset();
    if (offset < first || offset >= next) {
      throw new LogError(
        "OFFSET_OUT_OF_RANGE",
        `Cannot read offset ${offset}: the log holds offsets ${first} to ${next - 1}`,
      );
    }
  }
}

/** The offset after the records of entries up to `index` that this store holds. */
function offsetAfterIndex(store: FileLog, index: number): number {
  const last = Math.min(index, store.lastIndex());
  if (last < store.firstIndex()) return store.firstOffset();
  if (last === store.lastIndex()) return store.nextOffset();
  const next = store.entries(last + 1, last + 2, 0)[0];
  return next === undefined ? store.nextOffset() : next.baseOffset;
}

/**
 * What the leader knows of entry `index` once it committed: the commit index, and — when the
 * store fsyncs each append — the voters holding it durably: each follower whose
 * acknowledgement (sent after its fsync) covers it, plus the leader. A commit needs a quorum
 * of durable copies, so the count is at least the quorum. Without fsync nothing is durable.
 */
export function ackOf(
  node: RaftNode,
  index: number,
): { replicasFsynced: number; commitIndex: number; durable: boolean } {
  const status = node.status();
  if (status.durability !== "fsync") {
    return { replicasFsynced: 0, commitIndex: status.commitIndex, durable: false };
  }
  const voters = new Set(status.membership.voters);
  let acknowledged = voters.has(status.id) ? 1 : 0;
  for (const follower of node.followers()) {
    if (voters.has(follower.id) && follower.id !== status.id && follower.match >= index) {
      acknowledged++;
    }
  }
  const quorum = Math.floor(voters.size / 2) + 1;
  return {
    replicasFsynced: Math.max(acknowledged, quorum),
    commitIndex: status.commitIndex,
    durable: true,
  };
}
