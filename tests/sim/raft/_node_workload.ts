/**
 * Simulated clients of production nodes: appends through `RaftNode.propose`, linearizable
 * end-of-log reads and reads by offset through `RaftNode.readBarrier`, recorded as a history
 * for the history checker. Outcomes come from the promises the driver returns, exactly as a
 * server would see them.
 * @module
 */

import { type Entry, type FileLog, LogError } from "../../../log/mod.ts";
import { RaftError } from "../../../raft/mod.ts";
import type { SeededRandom } from "../random.ts";
import { isStorageFailure, type NodeCluster, type NodeSim } from "./_node_cluster.ts";
import type { AppendOperation, Operation, ReadOffsetOperation, ReadOperation } from "./history.ts";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** An append's operations, and whether the client heard back at all. */
export interface Probe {
  readonly ops: Mutable<AppendOperation>[];
  settled: boolean;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Whether a rejection says the append certainly did not happen. A timeout or a stopped node
 * does not: the entry may still commit, so the client must treat the outcome as unknown.
 */
function definitelyNotAppended(error: unknown): boolean {
  if (!(error instanceof RaftError)) return false;
  if (/within \d+ ms|stopped|unknown/i.test(error.message)) return false;
  // STORAGE_FAILED: the driver refuses so only a proposal whose entry never left the process.
  return ["NOT_LEADER", "NO_LEADER", "OVERLOADED", "TRANSFER_IN_PROGRESS", "STORAGE_FAILED"]
    .includes(error.code);
}

/** Drives client traffic against a {@linkcode NodeCluster}. */
export class NodeWorkload {
  readonly history: Operation[] = [];
  acknowledged = 0;
  /** The last rejection of an append whose outcome stays unknown (for liveness reports). */
  lastUnknown = "";
  readonly #cluster: NodeCluster;
  readonly #random: SeededRandom;
  /** Record values each incarnation applied, by offset (checked against what its log serves). */
  readonly #values = new Map<string, Map<number, string>>();
  #nextValue = 0;
  #offsetMax = -1;
  /** Size of a record's padding: with small append limits, batches split across messages. */
  readonly #padBytesMax: number;

  constructor(cluster: NodeCluster, random: SeededRandom, padBytesMax: number) {
    this.#cluster = cluster;
    this.#random = random;
    this.#padBytesMax = padBytesMax;
    cluster.hooks = {
      onApplied: (node, entry) => this.#onApplied(node, entry),
      onStart: (node) => this.#values.set(node.id, new Map()),
      onCrash: (node) => this.#values.delete(node.id),
    };
  }

  #now(): number {
    return this.#cluster.scheduler.nowMs;
  }

  /**
   * Mostly the current leader; sometimes any node that believes it leads (a deposed leader
   * keeps appending to a suffix that must later be discarded); sometimes any node.
   */
  #pickNode(): NodeSim | null {
    const running = this.#cluster.running();
    const roll = this.#random.intBelow(10);
    const leader = this.#cluster.leader();
    if (leader !== null && roll < 6) return leader;
    const believers = running.filter((node) => node.raft?.status().role === "leader");
    if (believers.length > 0 && roll < 8) {
      return believers[this.#random.intBelow(believers.length)] as NodeSim;
    }
    return running.length === 0 ? null : running[this.#random.intBelow(running.length)] as NodeSim;
  }

  /** One append of 1–3 records. Returns its operations (the liveness probe watches them). */
  append(target: NodeSim | null = null): Probe {
    const probe: Probe = { ops: [], settled: false };
    const node = target ?? this.#pickNode();
    const raft = node?.raft;
    if (raft === null || raft === undefined) return probe;
    const ops: Mutable<AppendOperation>[] = [];
    const count = this.#random.intBetween(1, 3);
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
    const pad = ".".repeat(this.#random.intBelow(this.#padBytesMax + 1));
    raft.propose(ops.map((op) => encoder.encode(`${op.value}|${pad}`))).then(
      ({ baseOffset }) => {
        ops.forEach((op, i) => this.#complete(op, "ok", baseOffset + i));
        probe.settled = true;
      },
      (error) => {
        probe.settled = true;
        if (definitelyNotAppended(error)) ops.forEach((op) => this.#complete(op, "fail", null));
        else this.lastUnknown = String(error);
        // A node whose disk failed refuses with the storage error (fail-stop): not a bug.
        if (!(error instanceof RaftError) && !isStorageFailure(error)) {
          this.#cluster.checkers.violations.push(`t=${this.#now()}ms: propose failed: ${error}`);
        }
      },
    );
    probe.ops.push(...ops);
    return probe;
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
      offset: this.#random.chance(0.5)
        ? this.#offsetMax + this.#random.intBetween(1, 6)
        : this.#random.intBetween(0, Math.max(0, this.#offsetMax)),
      invokeMs: this.#now(),
      completeMs: null,
      outcome: "unknown",
      value: null,
    });
  }

  #startRead(op: Mutable<ReadOperation> | Mutable<ReadOffsetOperation>): void {
    const node = this.#pickNode();
    const raft = node?.raft;
    if (node === null || raft === null || raft === undefined) return;
    this.history.push(op);
    const generation = node.generation;
    raft.readBarrier().then(
      () => {
        if (node.generation !== generation) return; // answered by a dead process: unknown
        this.#finishRead(node, op);
      },
      () => {
        op.outcome = "fail";
        op.completeMs = this.#now();
      },
    );
  }

  #finishRead(node: NodeSim, op: Mutable<ReadOperation> | Mutable<ReadOffsetOperation>): void {
    const end = node.raft?.status().appliedNextOffset ?? 0;
    op.completeMs = this.#now();
    if (op.kind === "read") {
      op.outcome = "ok";
      op.end = end;
    } else if (op.offset >= end) {
      op.outcome = "ok";
    } else {
      // Served from the node's file log, as the agent serves it (below the applied end, so
      // committed); an offset retention or a snapshot dropped is refused.
      const value = this.#readStored(node, op.offset);
      const applied = this.#values.get(node.id)?.get(op.offset);
      if (applied !== undefined && value !== undefined && applied !== value) {
        this.#cluster.checkers.violations.push(
          `t=${this.#now()}ms: ${node.id} applied ${applied} at offset ${op.offset} but its log holds ${value}`,
        );
      }
      op.outcome = value === undefined ? "fail" : "ok";
      op.value = value ?? null;
    }
  }

  #readStored(node: NodeSim, offset: number): string | undefined {
    try {
      return valueOf((node.store as FileLog).read(offset).value);
    } catch (error) {
      if (error instanceof LogError && error.code === "OFFSET_OUT_OF_RANGE") return undefined;
      this.#cluster.checkers.violations.push(
        `t=${this.#now()}ms: ${node.id} cannot read applied offset ${offset}: ${error}`,
      );
      return undefined;
    }
  }

  #complete(op: Mutable<AppendOperation>, outcome: "ok" | "fail", offset: number | null): void {
    op.outcome = outcome;
    op.offset = offset;
    op.completeMs = this.#now();
    if (outcome === "ok") this.acknowledged++;
    if (offset !== null) this.#offsetMax = Math.max(this.#offsetMax, offset);
  }

  #onApplied(node: NodeSim, entry: Entry): void {
    const values = this.#values.get(node.id);
    entry.records.forEach((record, i) => values?.set(entry.baseOffset + i, valueOf(record)));
  }
}

/** The client value of a record (its padding stripped). */
export function valueOf(record: Uint8Array): string {
  const text = decoder.decode(record);
  const bar = text.indexOf("|");
  return bar < 0 ? text : text.slice(0, bar);
}
