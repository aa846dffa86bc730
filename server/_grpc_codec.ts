/**
 * Conversions between wire messages and log values.
 * @module
 */
import type { ProduceRequest, ProduceResponse, RecordMessage } from "../proto/mod.ts";
import type { AppendAck, Logger } from "./_types.ts";
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
    count,
    replicasFsynced: ack.replicasFsynced ?? 0,
    commitIndex: ack.commitIndex ?? 0,
    duplicate: false,
    durable: ack.durable ?? false,
  };
}

const warnedProducers = new WeakSet<object>();

/**
 * A produce naming a producer asks for deduplication, which this version does not do yet:
 * says so once per service in the log (the answer's `duplicate` stays false), so an operator
 * learns that a client counts on a guarantee it does not get.
 */
export function warnIfProducerGiven(
  owner: object,
  logger: Logger,
  request: ProduceRequest,
): void {
  if ((request.producerId ?? "") === "" || warnedProducers.has(owner)) return;
  warnedProducers.add(owner);
  logger.warn(
    "A client sends produce requests with a producer_id, but this server does not deduplicate retried batches yet: a retried batch may be appended twice",
    { producerId: request.producerId },
  );
}
