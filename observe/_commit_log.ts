/**
 * A decorator over the log the server serves, so records and bytes produced and consumed,
 * append latency and the `log.append` span come from one place, without the server or the
 * log knowing about metrics.
 * @module
 */

import type { Metrics } from "./_metrics.ts";
import { withSpan } from "./_tracing.ts";

/** The parts of the server's `CommitLog` this decorator looks at; every other member passes through. */
export interface MeteredLog {
  /** Appends a batch (with the server's further arguments, passed on); resolves once durable. */
  append(values: Uint8Array[], ...rest: never[]): Promise<unknown>;
  /** The record at `offset`. */
  read(offset: number): { readonly value: Uint8Array };
  /** Records from `offset` on, at most about `bytesMax` of values. */
  readFrom(offset: number, bytesMax: number): readonly { readonly value: Uint8Array }[];
}

/**
 * Wraps `log` (the `CommitLog` handed to the server) so that:
 * - `append` runs in a `log.append` span (a child of the request's span when the server runs
 *   its handler in the request context), is timed into `strand_log_append_duration_seconds`,
 *   and on success counts its records and value bytes as produced;
 * - `read` / `readFrom` count the records and value bytes they return as consumed (the server
 *   reads exactly what it sends to consumers).
 *
 * Every other member of `log` is passed through unchanged, bound to `log`.
 *
 * @example
 * ```ts
 * const served = observeCommitLog(commitLog, { metrics });
 * const service = createService({ log: served, logger, observe: requests.record });
 * ```
 */
export function observeCommitLog<L extends MeteredLog>(
  log: L,
  options: { metrics: Metrics; nowMs?: () => number },
): L {
  const { metrics } = options;
  const nowMs = options.nowMs ?? (() => performance.now());
  const overrides: MeteredLog = {
    append: (values, ...rest) => {
      const bytes = valueBytes(values);
      return withSpan(
        "log.append",
        { "strand.records": values.length, "strand.bytes": bytes },
        async () => {
          const startMs = nowMs();
          const result = await log.append(values, ...rest);
          metrics.observeAppend((nowMs() - startMs) / 1000);
          // A retried batch answered as a duplicate appended nothing.
          const duplicate = (result as { duplicate?: unknown } | null)?.duplicate === true;
          if (!duplicate) metrics.produced(values.length, bytes);
          return result;
        },
      );
    },
    read: (offset) => {
      const record = log.read(offset);
      metrics.consumed(1, record.value.byteLength);
      return record;
    },
    readFrom: (offset, bytesMax) => {
      const records = log.readFrom(offset, bytesMax);
      metrics.consumed(records.length, valueBytes(records.map((record) => record.value)));
      return records;
    },
  };
  return new Proxy(log, {
    get(target, property) {
      if (property === "append" || property === "read" || property === "readFrom") {
        return overrides[property];
      }
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

function valueBytes(values: readonly Uint8Array[]): number {
  let bytes = 0;
  for (const value of values) bytes += value.byteLength;
  return bytes;
}
