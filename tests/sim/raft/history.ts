/**
 * A checker over client histories of the log: appends and end-of-log reads, each with its
 * invocation and completion time and outcome. It works on simulated histories and on
 * histories recorded from real clusters (times from one clock, e.g. the test runner's).
 *
 * What it verifies, against the final committed log (record values in offset order):
 * - every acknowledged append is present exactly once, at the offset it was given;
 * - no value appears twice, and no value from a failed (definitely not done) append appears;
 * - real time: an append that completed before another was invoked has a lower offset;
 * - reads: a read returns an end that covers every append completed before it began, only
 *   covers appends invoked before it completed, and never goes back in real time.
 * The append conditions are exact for linearizability (a greedy choice of points exists iff
 * they hold); the read conditions are the pairwise necessary ones.
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
  readonly outcome: "ok" | "fail" | "unknown";
  readonly end: number | null;
}

/** One client operation. */
export type Operation = AppendOperation | ReadOperation;

interface Placed {
  readonly value: string;
  readonly position: number;
  readonly invokeMs: number;
  readonly completeMs: number;
}

/** Returns human-readable violations (empty when the history is consistent). */
export function checkHistory(
  operations: readonly Operation[],
  finalLog: readonly string[],
): string[] {
  const problems: string[] = [];
  const appends = operations.filter((op): op is AppendOperation => op.kind === "append");
  const byValue = new Map<string, AppendOperation>();
  for (const op of appends) {
    if (byValue.has(op.value)) problems.push(`value ${op.value} was appended twice`);
    byValue.set(op.value, op);
  }
  const placed = placeAppends(finalLog, byValue, problems);
  for (const op of appends) {
    if (op.outcome !== "ok") continue;
    if (op.offset === null || finalLog[op.offset] !== op.value) {
      problems.push(
        `acknowledged append ${op.value} at offset ${op.offset} is not there (found ${
          op.offset === null ? "nothing" : finalLog[op.offset]
        })`,
      );
    }
  }
  checkAppendOrder(placed, problems);
  checkReads(operations, placed, finalLog.length, problems);
  return problems;
}

function placeAppends(
  finalLog: readonly string[],
  byValue: Map<string, AppendOperation>,
  problems: string[],
): Placed[] {
  const seen = new Set<string>();
  const placed: Placed[] = [];
  finalLog.forEach((value, position) => {
    if (seen.has(value)) problems.push(`value ${value} is in the log twice (again at ${position})`);
    seen.add(value);
    const op = byValue.get(value);
    if (op === undefined) return problems.push(`value ${value} at ${position} was never appended`);
    if (op.outcome === "fail") problems.push(`failed append ${value} is at offset ${position}`);
    placed.push({
      value,
      position,
      invokeMs: op.invokeMs,
      completeMs: op.completeMs ?? Infinity,
    });
  });
  return placed;
}

/** A.complete < B.invoke implies A.position < B.position, checked by one sweep. */
function checkAppendOrder(placed: readonly Placed[], problems: string[]): void {
  // Walking positions upwards, the latest invocation seen so far must not come after the
  // completion of the current append (otherwise that later-invoked append precedes it).
  let latest: Placed | null = null;
  for (const op of placed) {
    if (latest !== null && latest.invokeMs > op.completeMs) {
      problems.push(
        `append ${op.value} (offset ${op.position}) completed at ${op.completeMs} before ${latest.value} (offset ${latest.position}) was invoked at ${latest.invokeMs}`,
      );
    }
    if (latest === null || op.invokeMs > latest.invokeMs) latest = op;
  }
}

function checkReads(
  operations: readonly Operation[],
  placed: readonly Placed[],
  logLength: number,
  problems: string[],
): void {
  const reads = operations.filter((op): op is ReadOperation =>
    op.kind === "read" && op.outcome === "ok" && op.end !== null && op.completeMs !== null
  );
  for (const read of reads) {
    const end = read.end as number;
    const complete = read.completeMs as number;
    if (end > logLength) problems.push(`read saw end ${end} beyond the final log ${logLength}`);
    for (const op of placed) {
      if (op.position >= end && op.completeMs < read.invokeMs) {
        problems.push(
          `read [${read.invokeMs}, ${complete}] saw end ${end} but ${op.value} at ${op.position} completed at ${op.completeMs}`,
        );
        break;
      }
      if (op.position < end && op.invokeMs > complete) {
        problems.push(
          `read [${read.invokeMs}, ${complete}] saw ${op.value} at ${op.position}, invoked later at ${op.invokeMs}`,
        );
        break;
      }
    }
  }
  const sorted = reads.slice().sort((a, b) => (a.completeMs as number) - (b.completeMs as number));
  for (const later of reads) {
    for (const earlier of sorted) {
      if ((earlier.completeMs as number) >= later.invokeMs) break;
      if ((earlier.end as number) > (later.end as number)) {
        problems.push(
          `read at ${later.invokeMs} saw end ${later.end}, after a read that completed at ${earlier.completeMs} saw ${earlier.end}`,
        );
        break;
      }
    }
  }
}
