/**
 * A checker over client histories of the log: appends, end-of-log reads and reads by
 * offset, each with its invocation and completion time and outcome. It works on simulated
 * histories and on histories recorded from real clusters (times from one clock, e.g. the
 * test runner's).
 *
 * It decides linearizability exactly, against the final committed log (record values in
 * offset order). Appends that took effect are the values in the final log, totally ordered
 * by offset; every other append never took effect (so an acknowledged one must be there and
 * a failed one must not). That fixes the linearization order up to the reads, and each read
 * is pinned to a range of *slots* (slot s: after the append at offset s-1, before the one at
 * offset s):
 * - an end-of-log read that returned e sits exactly in slot e;
 * - a read of offset o that returned a value must return the final log's value at o and sits
 *   after the append at o;
 * - a read of offset o that found nothing sits before the append at o (anywhere if the final
 *   log never reaches o).
 * Each operation needs a point in [invokeMs, completeMs] (no upper end when the outcome is
 * unknown) that respects these precedences. They form a DAG whose only bounds are each
 * operation's own interval, so the earliest points, propagated in offset order, exist iff any
 * linearization does: the check is one pass over the log, exact, with no search.
 *
 * @example
 * ```ts
 * const problems = checkHistory(operations, ["a", "b"]);
 * if (problems.length > 0) throw new Error(problems.join("\n"));
 * ```
 * @module
 */

/** An append of one record with a unique value. */
export interface AppendOperation {
  readonly kind: "append";
  readonly value: string;
  readonly invokeMs: number;
  /** Null when the client never heard back. */
  readonly completeMs: number | null;
  /** ok: acknowledged at `offset`; fail: definitely not appended; unknown: either. */
  readonly outcome: "ok" | "fail" | "unknown";
  readonly offset: number | null;
}

/** A linearizable read of the end of the log (the number of committed records). */
export interface ReadOperation {
  readonly kind: "read";
  readonly invokeMs: number;
  readonly completeMs: number | null;
  /** Only ok reads constrain anything: a failed or unanswered read returned nothing. */
  readonly outcome: "ok" | "fail" | "unknown";
  readonly end: number | null;
}

/** A linearizable read of the record at `offset`: its value, or null if not yet written. */
export interface ReadOffsetOperation {
  readonly kind: "readOffset";
  readonly offset: number;
  readonly invokeMs: number;
  readonly completeMs: number | null;
  readonly outcome: "ok" | "fail" | "unknown";
  /** The record's value; null when the log did not reach `offset` yet. */
  readonly value: string | null;
}

/** One client operation. */
export type Operation = AppendOperation | ReadOperation | ReadOffsetOperation;

/** An ok read with its completion known: the only kind of read that constrains anything. */
type Answered<T extends ReadOperation | ReadOffsetOperation> = T & { readonly completeMs: number };

/** The earliest point an operation can take, and the invocation that forced it. */
interface Earliest {
  readonly pointMs: number;
  readonly cause: string;
}

/** Reads grouped by the offset (slot) that constrains them. */
interface ReadsBySlot {
  /** End-of-log reads by returned end. */
  readonly ends: Map<number, Answered<ReadOperation>[]>;
  /** Reads of offset o that found a value, by o. */
  readonly found: Map<number, Answered<ReadOffsetOperation>[]>;
  /** Reads of offset o that found nothing, by o. */
  readonly missing: Map<number, Answered<ReadOffsetOperation>[]>;
}

const START: Earliest = { pointMs: -Infinity, cause: "the start" };

/** Returns human-readable violations (empty when the history is linearizable). */
export function checkHistory(
  operations: readonly Operation[],
  finalLog: readonly string[],
): string[] {
  const problems: string[] = [];
  const byValue = appendsByValue(operations, problems);
  checkPlacement(finalLog, byValue, problems);
  checkAcknowledged(byValue, finalLog, problems);
  const reads = groupReads(operations, finalLog, problems);
  let previous = START;
  for (let offset = 0; offset < finalLog.length; offset++) {
    const append = byValue.get(finalLog[offset] as string);
    for (const read of reads.ends.get(offset) ?? []) checkRead(read, previous, problems);
    if (append !== undefined) previous = placeAppend(append, offset, previous, reads, problems);
    for (const read of reads.found.get(offset) ?? []) checkRead(read, previous, problems);
  }
  for (const read of reads.ends.get(finalLog.length) ?? []) checkRead(read, previous, problems);
  return problems;
}

function appendsByValue(
  operations: readonly Operation[],
  problems: string[],
): Map<string, AppendOperation> {
  const byValue = new Map<string, AppendOperation>();
  for (const op of operations) {
    if (op.kind !== "append") continue;
    if (byValue.has(op.value)) problems.push(`value ${op.value} was appended twice`);
    byValue.set(op.value, op);
  }
  return byValue;
}

/** Every value in the log was appended once, and not by an append known to have failed. */
function checkPlacement(
  finalLog: readonly string[],
  byValue: Map<string, AppendOperation>,
  problems: string[],
): void {
  const seen = new Set<string>();
  finalLog.forEach((value, offset) => {
    if (seen.has(value)) problems.push(`value ${value} is in the log twice (again at ${offset})`);
    seen.add(value);
    const op = byValue.get(value);
    if (op === undefined) problems.push(`value ${value} at ${offset} was never appended`);
    else if (op.outcome === "fail") problems.push(`failed append ${value} is at offset ${offset}`);
  });
}

function checkAcknowledged(
  byValue: Map<string, AppendOperation>,
  finalLog: readonly string[],
  problems: string[],
): void {
  for (const op of byValue.values()) {
    if (op.outcome !== "ok") continue;
    if (op.offset === null || finalLog[op.offset] !== op.value) {
      problems.push(
        `acknowledged append ${op.value} at offset ${op.offset} is not there (found ${
          op.offset === null ? "nothing" : finalLog[op.offset]
        })`,
      );
    }
  }
}

/** Buckets ok reads by slot; reports reads no linearization can explain whatever the times. */
function groupReads(
  operations: readonly Operation[],
  finalLog: readonly string[],
  problems: string[],
): ReadsBySlot {
  const reads: ReadsBySlot = { ends: new Map(), found: new Map(), missing: new Map() };
  for (const op of operations) {
    if (op.kind === "append" || op.outcome !== "ok" || op.completeMs === null) continue;
    if (op.kind === "read") {
      if (op.end === null || op.end > finalLog.length) {
        problems.push(`${describeRead(op)} is beyond the final log's end ${finalLog.length}`);
      } else bucket(reads.ends, op.end, op as Answered<ReadOperation>);
    } else if (op.value === null) {
      // Nothing at or beyond the final end is ever written: no constraint.
      if (op.offset < finalLog.length) {
        bucket(reads.missing, op.offset, op as Answered<ReadOffsetOperation>);
      }
    } else if (finalLog[op.offset] !== op.value) {
      problems.push(`${describeRead(op)}, but the log holds ${finalLog[op.offset] ?? "nothing"}`);
    } else bucket(reads.found, op.offset, op as Answered<ReadOffsetOperation>);
  }
  return reads;
}

function bucket<T>(map: Map<number, T[]>, key: number, value: T): void {
  const list = map.get(key);
  if (list === undefined) map.set(key, [value]);
  else list.push(value);
}

/**
 * The append at `offset` goes after the previous append and after every read pinned before
 * it (end reads in its slot, "not found" reads of its offset); its earliest point must not
 * pass its completion.
 */
function placeAppend(
  append: AppendOperation,
  offset: number,
  previous: Earliest,
  reads: ReadsBySlot,
  problems: string[],
): Earliest {
  let earliest = later(previous, {
    pointMs: append.invokeMs,
    cause: `append ${append.value} (offset ${offset}) invoked at ${append.invokeMs}`,
  });
  for (const read of reads.ends.get(offset) ?? []) earliest = later(earliest, pointOf(read));
  for (const read of reads.missing.get(offset) ?? []) earliest = later(earliest, pointOf(read));
  // An append whose outcome is unknown may have taken effect at any time after its invocation.
  const completeMs = append.outcome === "unknown" ? Infinity : append.completeMs ?? Infinity;
  if (earliest.pointMs > completeMs) {
    problems.push(
      `append ${append.value} at offset ${offset} completed at ${completeMs}, but must follow ${earliest.cause}`,
    );
  }
  // Past a violation, carry on from the completion so later checks stay meaningful.
  return earliest.pointMs > completeMs ? { pointMs: completeMs, cause: earliest.cause } : earliest;
}

/** A read placed after `previous` must still fit before its completion. */
function checkRead(
  read: Answered<ReadOperation | ReadOffsetOperation>,
  previous: Earliest,
  problems: string[],
): void {
  if (previous.pointMs > read.completeMs) {
    problems.push(`${describeRead(read)}, but must follow ${previous.cause}`);
  }
}

/** A read's own earliest point: its invocation (reads constrain appends, not each other). */
function pointOf(read: Answered<ReadOperation | ReadOffsetOperation>): Earliest {
  return { pointMs: read.invokeMs, cause: describeRead(read) };
}

function later(a: Earliest, b: Earliest): Earliest {
  return b.pointMs > a.pointMs ? b : a;
}

function describeRead(read: ReadOperation | ReadOffsetOperation): string {
  const window = `[${read.invokeMs}, ${read.completeMs}]`;
  if (read.kind === "read") return `read ${window} saw end ${read.end}`;
  return `read of offset ${read.offset} ${window} found ${read.value ?? "nothing"}`;
}
