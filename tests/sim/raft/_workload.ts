/**
 * Simulated clients: appends (batches of 1–3 unique values), linearizable end-of-log reads
 * and linearizable reads by offset, sent to the node believed to lead or to a random node,
 * recorded as a history for the history checker.
 * @module
 */

import type { Entry } from "../../../log/mod.ts";
import { RaftError } from "../../../raft/mod.ts";
import type { SeededRandom } from "../random.ts";
import type { SimCluster, SimNode } from "./_cluster.ts";
import type { AppendOperation, Operation, ReadOffsetOperation, ReadOperation } from "./history.ts";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

interface PendingAppend {
  readonly term: number;
  readonly ops: Mutable<AppendOperation>[];
  readonly baseOffset: number;
}

interface PendingRead {
  readonly op: Mutable<ReadOperation> | Mutable<ReadOffsetOperation>;
  index: number | null;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** Drives client traffic and resolves it from what nodes apply. */
export class Workload {
  readonly history: Operation[] = [];
  acknowledged = 0;
  readonly #cluster: SimCluster;
  readonly #random: SeededRandom;
  readonly #appends = new Map<string, Map<number, PendingAppend>>();
  readonly #reads = new Map<string, Map<string, PendingRead>>();
  /** Record values each node applied since it last started, by offset (reads by offset). */
  readonly #values = new Map<string, Map<number, string>>();
  #nextValue = 0;
  /** Highest offset acknowledged so far: reads by offset aim around it. */
  #offsetMax = -1;
  #nextRead = 0;

  constructor(cluster: SimCluster, random: SeededRandom) {
    this.#cluster = cluster;
    this.#random = random;
    cluster.hooks = {
      onApplied: (node, entry) => this.#onApplied(node, entry),
      onReadState: (node, readId, index) => this.#onReadState(node, readId, index),
      onCrash: (node) => this.#onCrash(node),
    };
  }

  #now(): number {
    return this.#cluster.scheduler.nowMs;
  }

  #pickNode(): SimNode {
    const leader = this.#cluster.leader();
    if (leader !== null && this.#random.chance(0.8)) return leader;
    const all = [...this.#cluster.nodes.values()];
    return all[this.#random.intBelow(all.length)] as SimNode;
  }

  /** One append of 1–3 records to some node. Returns the values' ops (for liveness probes). */
  append(target: SimNode | null = null): Mutable<AppendOperation>[] {
    const node = target ?? this.#pickNode();
    if (node.core === null) return [];
    const count = this.#random.intBetween(1, 3);
    const ops: Mutable<AppendOperation>[] = [];
    for (let i = 0; i < count; i++) {
      const op: Mutable<AppendOperation> = {
        kind: "append",
        value: `v${this.#nextValue++}`,
        invokeMs: this.#now(),
        completeMs: null,
        outcome: "unknown",
        offset: null,
      };
      ops.push(op);
      this.history.push(op);
    }
    try {
      const proposal = node.core.propose(ops.map((op) => encoder.encode(op.value)));
      this.#appendsOf(node).set(proposal.index, {
        term: proposal.term,
        ops,
        baseOffset: proposal.baseOffset,
      });
      this.#cluster.process(node);
    } catch (error) {
      if (!(error instanceof RaftError)) throw error;
      for (const op of ops) this.#complete(op, "fail", null);
    }
    return ops;
  }

  /** One linearizable read of the log's end. */
  read(): void {
    this.#startRead({
      kind: "read",
      invokeMs: this.#now(),
      completeMs: null,
      outcome: "unknown",
      end: null,
    });
  }

  /** One linearizable read of the record at some offset up to a few past the acknowledged end. */
  readOffset(): void {
    this.#startRead({
      kind: "readOffset",
      // Half aim at the records in flight, whose reads race their appends.
      offset: this.#random.chance(0.5)
        ? this.#offsetMax + this.#random.intBetween(1, 6)
        : this.#random.intBetween(0, Math.max(0, this.#offsetMax)),
      invokeMs: this.#now(),
      completeMs: null,
      outcome: "unknown",
      value: null,
    });
  }

  /** ReadIndex on some node; the read completes once that node has applied the index. */
  #startRead(op: PendingRead["op"]): void {
    const node = this.#pickNode();
    if (node.core === null) return;
    this.history.push(op);
    const readId = `r${this.#nextRead++}`;
    try {
      node.core.readIndex(readId);
      this.#readsOf(node).set(readId, { op, index: null });
      this.#cluster.process(node);
    } catch (error) {
      if (!(error instanceof RaftError)) throw error;
      op.outcome = "fail";
      op.completeMs = this.#now();
    }
  }

  #complete(op: Mutable<AppendOperation>, outcome: "ok" | "fail", offset: number | null): void {
    op.outcome = outcome;
    op.offset = offset;
    op.completeMs = this.#now();
    if (outcome === "ok") this.acknowledged++;
    if (offset !== null) this.#offsetMax = Math.max(this.#offsetMax, offset);
  }

  #onApplied(node: SimNode, entry: Entry): void {
    const values = this.#valuesOf(node);
    entry.records.forEach((record, i) => values.set(entry.baseOffset + i, decoder.decode(record)));
    const pending = this.#appendsOf(node).get(entry.index);
    if (pending !== undefined) {
      this.#appendsOf(node).delete(entry.index);
      const ok = entry.term === pending.term;
      pending.ops.forEach((op, i) =>
        this.#complete(op, ok ? "ok" : "fail", ok ? entry.baseOffset + i : null)
      );
      if (ok && entry.baseOffset !== pending.baseOffset) {
        throw new Error(
          `proposal at ${entry.index} moved from ${pending.baseOffset} to ${entry.baseOffset}`,
        );
      }
    }
    for (const read of this.#readsOf(node).values()) this.#maybeFinishRead(node, read);
  }

  #onReadState(node: SimNode, readId: string, index: number): void {
    const read = this.#readsOf(node).get(readId);
    if (read === undefined) return;
    read.index = index;
    this.#maybeFinishRead(node, read);
  }

  #maybeFinishRead(node: SimNode, read: PendingRead): void {
    if (read.index === null || node.appliedIndex < read.index || node.appliedNextOffset === null) {
      return;
    }
    const end = node.appliedNextOffset;
    if (read.op.kind === "read") {
      read.op.outcome = "ok";
      read.op.end = end;
    } else if (read.op.offset >= end) {
      read.op.outcome = "ok";
    } else {
      // Applied before this incarnation's first entry (a snapshot start): not servable here.
      const value = this.#valuesOf(node).get(read.op.offset);
      read.op.outcome = value === undefined ? "fail" : "ok";
      read.op.value = value ?? null;
    }
    read.op.completeMs = this.#now();
    for (const [id, candidate] of this.#readsOf(node)) {
      if (candidate === read) this.#readsOf(node).delete(id);
    }
  }

  /** The client loses its connection: outcomes stay unknown. */
  #onCrash(node: SimNode): void {
    this.#appends.delete(node.id);
    this.#reads.delete(node.id);
    this.#values.delete(node.id);
  }

  #valuesOf(node: SimNode): Map<number, string> {
    let map = this.#values.get(node.id);
    if (map === undefined) this.#values.set(node.id, map = new Map());
    return map;
  }

  #appendsOf(node: SimNode): Map<number, PendingAppend> {
    let map = this.#appends.get(node.id);
    if (map === undefined) this.#appends.set(node.id, map = new Map());
    return map;
  }

  #readsOf(node: SimNode): Map<string, PendingRead> {
    let map = this.#reads.get(node.id);
    if (map === undefined) this.#reads.set(node.id, map = new Map());
    return map;
  }
}
