/**
 * Exactly-once produce: the producer table every node keeps from the batches it applies, the
 * producer id and sequence as they are stored in a batch's entry, and the gate that decides,
 * before a batch is appended, whether it is new, a retry of an appended batch, or refused.
 * See docs/exactly-once.md.
 * @module
 */
import type { AppendAck, ProducerRef } from "../server/mod.ts";

/** Batches remembered per producer by default. */
export const PRODUCER_WINDOW_DEFAULT = 5;
/** Producers remembered by default (least recently appended forgotten first). */
export const PRODUCERS_MAX_DEFAULT = 100_000;

/** Bounds of a {@linkcode ProducerTable}. */
export interface ProducerTableOptions {
  /** Batches remembered per producer (default {@linkcode PRODUCER_WINDOW_DEFAULT}). */
  readonly windowBatches?: number;
  /** Producers remembered (default {@linkcode PRODUCERS_MAX_DEFAULT}). */
  readonly producersMax?: number;
}

/** A producer's refused batch: out of order, older than the window, or a changed retry. */
export class ProducerError extends Error {
  /** Mapped to FAILED_PRECONDITION / HTTP 409 by the server. */
  readonly code = "OUT_OF_SEQUENCE";
  /** A refusal whose message says what to do. */
  constructor(message: string) {
    super(message);
    this.name = "ProducerError";
  }
}

/** A producer's batch that cannot be decided yet; the server answers UNAVAILABLE (retry). */
export class ProducerRetryError extends Error {
  /** Mapped to UNAVAILABLE / HTTP 503 by the server. */
  readonly code = "UNAVAILABLE";
  /** A refusal for now whose message says to retry. */
  constructor(message: string) {
    super(message);
    this.name = "ProducerRetryError";
  }
}

/** What to do with a batch of a producer. */
export type ProducerDecision =
  | { readonly kind: "append" }
  | { readonly kind: "duplicate"; readonly baseOffset: number; readonly count: number }
  | { readonly kind: "refuse"; readonly message: string };

/**
 * One producer's last batches, sequences `last - batches.length / 2 + 1` … `last`: pairs of
 * (base offset, record count), oldest first. The array is replaced, never grown, so it takes
 * exactly its size (V8 would over-allocate a pushed-to array).
 */
interface ProducerState {
  readonly last: number;
  readonly batches: readonly number[];
}

/**
 * Per producer, the offsets and record counts of its last `windowBatches` batches, built only
 * from applied batches (so every replica of the same log builds the same table). At most
 * `producersMax` producers: recording a batch makes its producer the most recent; the least
 * recently appended producer is forgotten first. Looking a producer up changes nothing.
 */
export class ProducerTable {
  readonly windowBatches: number;
  readonly producersMax: number;
  readonly #producers = new Map<string, ProducerState>();
  /** Producers forgotten to stay within `producersMax`. */
  evictions = 0;

  /** An empty table; throws `RangeError` for bounds that are not positive integers. */
  constructor(options: ProducerTableOptions = {}) {
    this.windowBatches = options.windowBatches ?? PRODUCER_WINDOW_DEFAULT;
    this.producersMax = options.producersMax ?? PRODUCERS_MAX_DEFAULT;
    for (
      const [name, value] of [["windowBatches", this.windowBatches], [
        "producersMax",
        this.producersMax,
      ]] as const
    ) {
      if (!Number.isSafeInteger(value) || value < 1) {
        throw new RangeError(`${name} must be a positive integer, got ${value}`);
      }
    }
  }

  /** Producers remembered. */
  get size(): number {
    return this.#producers.size;
  }

  /** Forgets every producer (the log it was built from was replaced). */
  clear(): void {
    this.#producers.clear();
  }

  /** The last sequence recorded for `id`, or null when the producer is not remembered. */
  lastSequence(id: string): number | null {
    return this.#producers.get(id)?.last ?? null;
  }

  /**
   * Records an applied batch. A batch that does not follow the producer's last one (the
   * producer was forgotten elsewhere and restarted its numbering) starts its window afresh.
   */
  record(id: string, sequence: number, baseOffset: number, count: number): void {
    const state = this.#producers.get(id);
    this.#producers.delete(id);
    const kept = state !== undefined && sequence === state.last + 1
      ? state.batches.slice(Math.max(0, state.batches.length - 2 * (this.windowBatches - 1)))
      : [];
    this.#producers.set(id, { last: sequence, batches: [...kept, baseOffset, count] });
    if (this.#producers.size > this.producersMax) {
      const oldest = this.#producers.keys().next().value!;
      this.#producers.delete(oldest);
      this.evictions++;
    }
  }

  /** Whether batch `sequence` of `id`, holding `count` records, is new, a retry, or refused. */
  check(id: string, sequence: number, count: number): ProducerDecision {
    const state = this.#producers.get(id);
    // A producer not remembered (new, or forgotten) starts at whatever sequence it sends.
    if (state === undefined || sequence === state.last + 1) return { kind: "append" };
    const { last } = state;
    if (sequence > last + 1) {
      return {
        kind: "refuse",
        message:
          `Cannot append batch ${sequence} of producer ${id}: its last appended batch is ${last}; ` +
          `send batches ${last + 1} to ${sequence - 1} first, or number new batches from ${
            last + 1
          }`,
      };
    }
    const first = last - state.batches.length / 2 + 1;
    if (sequence < first) {
      return {
        kind: "refuse",
        message:
          `Cannot append batch ${sequence} of producer ${id}: the server remembers only its batches ` +
          `${first} to ${last}, so whether batch ${sequence} was appended cannot be told; do not resend it ` +
          `(read the log to find out), and number new batches from ${last + 1}`,
      };
    }
    const at = 2 * (sequence - first);
    const appended = state.batches[at + 1]!;
    if (appended !== count) {
      return {
        kind: "refuse",
        message:
          `Cannot append batch ${sequence} of producer ${id}: it was appended with ${appended} ` +
          `records and this retry has ${count}; a retry must resend the same batch, and a new batch ` +
          `takes sequence ${last + 1}`,
      };
    }
    return { kind: "duplicate", baseOffset: state.batches[at]!, count: appended };
  }
}

/** First byte of a batch's producer data: the format version. */
const PRODUCER_DATA_VERSION = 1;
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * The producer as stored in a batch's entry (`Entry.data` of a records entry):
 * u8 version (1) | u8 id length | id (UTF-8) | u64 sequence (little-endian).
 */
export function encodeProducerData(producer: ProducerRef): Uint8Array {
  const id = encoder.encode(producer.id);
  // The server refuses longer ids and unsafe sequences (INVALID_ARGUMENT) before this.
  if (id.length === 0 || id.length > 255 || !Number.isSafeInteger(producer.sequence)) {
    throw new Error(`Assertion failed: producer ${producer.id}/${producer.sequence} not encodable`);
  }
  const bytes = new Uint8Array(2 + id.length + 8);
  const view = new DataView(bytes.buffer);
  bytes[0] = PRODUCER_DATA_VERSION;
  bytes[1] = id.length;
  bytes.set(id, 2);
  view.setUint32(2 + id.length, producer.sequence >>> 0, true);
  view.setUint32(6 + id.length, Math.floor(producer.sequence / 0x1_0000_0000), true);
  return bytes;
}

/**
 * The producer stored in a batch's entry data, or null when there is none or it is in a
 * format this version does not know (such a batch is applied without deduplication).
 */
export function decodeProducerData(data: Uint8Array): ProducerRef | null {
  if (data.length < 2 || data[0] !== PRODUCER_DATA_VERSION) return null;
  const length = data[1]!;
  if (data.length !== 2 + length + 8) return null;
  const view = new DataView(data.buffer, data.byteOffset, data.length);
  const sequence = view.getUint32(2 + length, true) +
    view.getUint32(6 + length, true) * 0x1_0000_0000;
  try {
    return { id: decoder.decode(data.subarray(2, 2 + length)), sequence };
  } catch {
    return null;
  }
}

/** A batch of a producer being appended (one at a time per producer). */
interface Flight {
  readonly sequence: number;
  /** The leader's term when it was proposed (0 on a standalone node). */
  readonly epoch: number;
  /** Settled with an unknown outcome: it may still be appended in `epoch`. */
  doubtful: boolean;
  readonly done: Promise<void>;
}

/** What the gate needs of the log it guards. */
export interface GatedLog {
  /** The current leadership epoch (Raft term; 0 standalone), after any wait it needs. */
  epoch(): Promise<number>;
  /** Appends the batch with its producer data; resolves once applied (recorded in the table). */
  append(data: Uint8Array): Promise<AppendAck>;
  /** The answer for a batch found already appended. */
  duplicateAck(baseOffset: number, count: number): AppendAck;
  /** Whether a failed append may still be appended (its outcome is unknown). */
  mayStillAppend(error: unknown): boolean;
}

/** Rounds of waiting for an earlier attempt of the same batch before asking to retry. */
const gateRoundsMax = 3;

/**
 * Decides each batch of a producer against the table, with one batch per producer being
 * appended at a time: a retry of the batch in flight waits for its outcome instead of
 * appending it again; a batch whose earlier attempt has an unknown outcome is answered
 * "retry later" until the table or a new epoch settles it.
 */
export class ProducerGate {
  readonly table: ProducerTable;
  readonly #flights = new Map<string, Flight>();

  /** A gate over `table` (which the log's apply path fills). */
  constructor(table: ProducerTable) {
    this.table = table;
  }

  /** Appends batch `producer` of `count` records through `log` unless the table says not to. */
  async append(producer: ProducerRef, count: number, log: GatedLog): Promise<AppendAck> {
    const { id, sequence } = producer;
    for (let round = 0; round < gateRoundsMax; round++) {
      const epoch = await log.epoch();
      const flight = this.#flights.get(id);
      if (flight !== undefined) {
        const last = this.table.lastSequence(id);
        if (flight.epoch !== epoch || (last !== null && last >= flight.sequence)) {
          this.#flights.delete(id); // settled: the table (or a new leader's catch-up) knows
        } else if (!flight.doubtful && flight.sequence === sequence) {
          await flight.done;
          continue;
        } else {
          throw new ProducerRetryError(
            flight.doubtful
              ? `Cannot tell yet whether batch ${flight.sequence} of producer ${id} was appended (an earlier attempt timed out); retry shortly`
              : `Cannot append batch ${sequence} of producer ${id} while its batch ${flight.sequence} is being appended; send one batch at a time`,
          );
        }
      }
      const decision = this.table.check(id, sequence, count);
      if (decision.kind === "duplicate") {
        return log.duplicateAck(decision.baseOffset, decision.count);
      }
      if (decision.kind === "refuse") throw new ProducerError(decision.message);
      return await this.#appendOnce(producer, epoch, log);
    }
    throw new ProducerRetryError(
      `Cannot append batch ${sequence} of producer ${id}: an earlier attempt is still settling; retry shortly`,
    );
  }

  async #appendOnce(producer: ProducerRef, epoch: number, log: GatedLog): Promise<AppendAck> {
    const { promise: done, resolve } = Promise.withResolvers<void>();
    const flight: Flight = { sequence: producer.sequence, epoch, doubtful: false, done };
    this.#flights.set(producer.id, flight);
    try {
      return await log.append(encodeProducerData(producer));
    } catch (error) {
      if (log.mayStillAppend(error)) flight.doubtful = true;
      else if (this.#flights.get(producer.id) === flight) this.#flights.delete(producer.id);
      throw error;
    } finally {
      if (!flight.doubtful && this.#flights.get(producer.id) === flight) {
        this.#flights.delete(producer.id);
      }
      resolve();
    }
  }

  /** Batches being appended, or of unknown outcome (for metrics and tests). */
  get inFlight(): number {
    return this.#flights.size;
  }
}
