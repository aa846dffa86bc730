/**
 * Conversions between wire messages and log values.
 * @module
 */
import type { ProduceRequest, ProduceResponse, RecordMessage } from "../proto/mod.ts";
import type { AppendAck, ProducerRef } from "./_types.ts";
import { serviceError } from "./_errors.ts";
import type { ServedRecord } from "./_types.ts";

const empty = new Uint8Array(0);

/** A log record as a wire `Record` (type 0: a client record). */
export function toRecordMessage(record: ServedRecord): RecordMessage {
  return { value: record.value, offset: record.offset, term: record.term, type: 0 };
}

/** The values a produce request carries: `record` (the book) or `records` (a batch). */
export function valuesOf(request: ProduceRequest): Uint8Array[] {
  const batch = request.records ?? [];
  if (batch.length > 0) {
    if (request.record) {
      throw serviceError(
        "INVALID_ARGUMENT",
        "Cannot produce: set either record or records, not both",
      );
    }
    return batch.map((record) => record.value ?? empty);
  }
  if (!request.record) {
    throw serviceError("INVALID_ARGUMENT", "Cannot produce: the request has no record");
  }
  return [request.record.value ?? empty];
}

/**
 * The produce answer for `count` records appended as `ack` says: what the log did not report
 * is answered as 0/false, so the answer never claims more durability than it had.
 */
export function produceResponse(ack: AppendAck, count: number): Required<ProduceResponse> {
  return {
    offset: ack.baseOffset,
    count: ack.duplicate ? ack.count ?? count : count,
    replicasFsynced: ack.replicasFsynced ?? 0,
    commitIndex: ack.commitIndex ?? 0,
    duplicate: ack.duplicate ?? false,
    durable: ack.durable ?? false,
  };
}

/** Longest producer id accepted, in UTF-8 bytes (a UUID takes 36). */
export const PRODUCER_ID_BYTES_MAX = 128;

/**
 * The producer a produce request names (`producer_id`, `sequence`), or undefined when it
 * names none (an empty id). Refuses an id over {@linkcode PRODUCER_ID_BYTES_MAX} bytes and a
 * sequence that is not a safe integer (INVALID_ARGUMENT).
 */
export function producerOf(
  request: { producerId?: unknown; sequence?: unknown },
): ProducerRef | undefined {
  const id = request.producerId ?? "";
  if (typeof id !== "string") {
    throw serviceError("INVALID_ARGUMENT", "Cannot produce: producerId must be a string");
  }
  if (id === "") return undefined;
  const bytes = new TextEncoder().encode(id).length;
  if (bytes > PRODUCER_ID_BYTES_MAX) {
    throw serviceError(
      "INVALID_ARGUMENT",
      `Cannot produce: a producer id takes at most ${PRODUCER_ID_BYTES_MAX} bytes, this one ${bytes}`,
    );
  }
  const sequence = request.sequence ?? 0;
  if (typeof sequence !== "number" || !Number.isSafeInteger(sequence) || sequence < 0) {
    throw serviceError(
      "INVALID_ARGUMENT",
      `Cannot produce: sequence ${String(sequence)} is not an integer from 0 to 2^53 - 1`,
    );
  }
  return { id, sequence };
}
