/**
 * Records client operations against a chaos cluster (invoke/complete wall times on the test
 * runner's clock, outcome ok / fail / unknown) and checks them with the project's
 * linearizability checker (tests/sim/raft/history.ts) against the final log.
 *
 * An append is "unknown" (may or may not have happened) unless it was acknowledged or the
 * server said for sure it did not append: timeouts, UNAVAILABLE and DEADLINE_EXCEEDED after
 * sending are unknown. A read that failed constrains nothing.
 * @module
 */
import { status as GrpcStatus } from "@grpc/grpc-js";
import { checkHistory, type Operation } from "../sim/raft/history.ts";
import type { ChaosNode } from "./_cluster.ts";
import { withTimeout } from "./_cluster.ts";

/** gRPC codes that say the append was refused before anything was appended. */
const definitelyNot = new Set<number>([
  GrpcStatus.INVALID_ARGUMENT,
  GrpcStatus.PERMISSION_DENIED,
  GrpcStatus.UNAUTHENTICATED,
  GrpcStatus.RESOURCE_EXHAUSTED,
  GrpcStatus.FAILED_PRECONDITION,
]);

/** A history of operations, with counts for reports. */
export class History {
  readonly operations: Operation[] = [];
  readonly #encoder = new TextEncoder();
  readonly #decoder = new TextDecoder();

  /** Appends `value` through `node`; returns the acknowledged offset or null. */
  async append(node: ChaosNode, value: string, timeoutMs: number): Promise<number | null> {
    const invokeMs = Date.now();
    try {
      const offset = await withTimeout(node.client.produce(this.#encoder.encode(value)), timeoutMs);
      this.operations.push({
        kind: "append",
        value,
        invokeMs,
        completeMs: Date.now(),
        outcome: "ok",
        offset,
      });
      return offset;
    } catch (error) {
      const code = (error as { code?: number }).code;
      const fail = code !== undefined && definitelyNot.has(code);
      this.operations.push({
        kind: "append",
        value,
        invokeMs,
        completeMs: fail ? Date.now() : null,
        outcome: fail ? "fail" : "unknown",
        offset: null,
      });
      return null;
    }
  }

  /** Reads `offset` through `node`: its value, null when not written yet, undefined on error. */
  async readOffset(
    node: ChaosNode,
    offset: number,
    timeoutMs: number,
  ): Promise<string | null | undefined> {
    const invokeMs = Date.now();
    try {
      const record = await withTimeout(node.client.consume(offset), timeoutMs);
      const value = this.#decoder.decode(record.value);
      this.#pushRead(offset, invokeMs, value);
      return value;
    } catch (error) {
      if ((error as { code?: number }).code === GrpcStatus.OUT_OF_RANGE) {
        this.#pushRead(offset, invokeMs, null);
        return null;
      }
      return undefined; // a failed read constrains nothing
    }
  }

  #pushRead(offset: number, invokeMs: number, value: string | null): void {
    this.operations.push({
      kind: "readOffset",
      offset,
      invokeMs,
      completeMs: Date.now(),
      outcome: "ok",
      value,
    });
  }

  /** Acknowledged appends: value → offset. */
  acknowledged(): Map<string, number> {
    const acked = new Map<string, number>();
    for (const op of this.operations) {
      if (op.kind === "append" && op.outcome === "ok") acked.set(op.value, op.offset!);
    }
    return acked;
  }

  /** Counts by kind and outcome ("append ok", "readOffset unknown", …). */
  counts(): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const op of this.operations) {
      const key = `${op.kind} ${op.outcome}`;
      counts[key] = (counts[key] ?? 0) + 1;
    }
    return counts;
  }

  /** The checker's problems against `finalLog` (empty: linearizable, nothing acked lost). */
  check(finalLog: readonly string[]): string[] {
    return checkHistory(this.operations, finalLog);
  }
}
