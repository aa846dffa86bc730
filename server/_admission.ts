/**
 * Admission control for appends: a bound on the bytes of appends the server has accepted but
 * the log has not yet acknowledged. Per-stream limits alone do not bound a node's memory:
 * thousands of unary calls or streams can each stay under theirs. Past the bound a new append
 * is refused at once (UNAVAILABLE / HTTP 503, retryable) instead of queueing without limit.
 * @module
 */
import { serviceError } from "./_errors.ts";
import type { CommitLog, ProducerRef } from "./_types.ts";

/** Default bound on the bytes of appends waiting for the log: 64 MiB. */
export const appendBytesInFlightMaxDefault = 64 * 1024 * 1024;

/**
 * Wraps `log` so that `append` refuses new work while `bytesMax` bytes are in flight. One
 * append is always admitted when nothing is in flight, so a batch as large as the log allows
 * can never be refused forever.
 */
export function withAppendAdmission(log: CommitLog, bytesMax: number): CommitLog {
  if (!(Number.isSafeInteger(bytesMax) && bytesMax > 0)) {
    throw new RangeError(`appendBytesInFlightMax must be a positive integer, got ${bytesMax}`);
  }
  let bytesInFlight = 0;
  return {
    async append(values: Uint8Array[], producer?: ProducerRef) {
      let bytes = 0;
      for (const value of values) bytes += value.length;
      if (bytesInFlight > 0 && bytesInFlight + bytes > bytesMax) {
        throw serviceError(
          "OVERLOADED",
          `Cannot append ${bytes} bytes now: ${bytesInFlight} bytes of appends are waiting for ` +
            `the disk (the limit is ${bytesMax}); retry shortly`,
        );
      }
      bytesInFlight += bytes;
      try {
        return await log.append(values, producer);
      } finally {
        bytesInFlight -= bytes;
      }
    },
    read: (offset) => log.read(offset),
    readFrom: (offset, bytesMax) => log.readFrom(offset, bytesMax),
    firstOffset: () => log.firstOffset(),
    nextOffset: () => log.nextOffset(),
    waitForOffset: (offset, signal) => log.waitForOffset(offset, signal),
  };
}
