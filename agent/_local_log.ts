/**
 * The single-node CommitLog: the file log, plus the wake-up of tailing consumers after each
 * append resolves (the log itself does not notify), plus exactly-once produce: batches naming
 * a producer are checked against a producer table rebuilt from the log when it opens.
 * @module
 */
import { EntryKind, type FileLog, type LogRecord } from "../log/mod.ts";
import { type AppendAck, type CommitLog, OffsetWaiters, type ProducerRef } from "../server/mod.ts";
import {
  decodeProducerData,
  type GatedLog,
  ProducerGate,
  ProducerTable,
  type ProducerTableOptions,
} from "./_producers.ts";

/** Entry payload bytes read per step while the producer table is rebuilt. */
const rebuildReadBytes = 4 * 1024 * 1024;

/** Serves a local {@linkcode FileLog} to the server. */
export class LocalCommitLog implements CommitLog {
  readonly #log: FileLog;
  readonly #waiters: OffsetWaiters;
  /** Whether an append resolves only once fsynced (`--fsync always`). */
  readonly #durable: boolean;
  readonly #gate: ProducerGate;

  /**
   * `durable`: the log fsyncs before an append resolves (the default policy, `always`).
   * `producers`: bounds of the producer table, which is rebuilt here from every retained entry.
   */
  constructor(
    log: FileLog,
    options: { durable?: boolean; producers?: ProducerTableOptions } = {},
  ) {
    this.#log = log;
    this.#durable = options.durable ?? true;
    this.#waiters = new OffsetWaiters(() => log.nextOffset());
    this.#gate = new ProducerGate(new ProducerTable(options.producers));
    this.unreadableEntries = rebuildProducerTable(log, this.#gate.table);
  }

  /**
   * Retained entries the producer table could not be rebuilt from (damaged frames, reported
   * by the log's recovery): a retry of a batch among them would be appended again.
   */
  readonly unreadableEntries: number;

  /** The producer table (for metrics and tests). */
  get producers(): ProducerTable {
    return this.#gate.table;
  }

  append(values: Uint8Array[], producer?: ProducerRef): Promise<AppendAck> {
    if (producer === undefined) return this.#append(values);
    return this.#gate.append(producer, values.length, this.#gated(values, producer));
  }

  async #append(values: Uint8Array[], data?: Uint8Array): Promise<AppendAck> {
    const { baseOffset } = await this.#log.append(values, data ? { data } : {});
    this.#waiters.notify();
    // One node: the only replica, fsynced only under `--fsync always`.
    return { baseOffset, replicasFsynced: this.#durable ? 1 : 0, durable: this.#durable };
  }

  #gated(values: Uint8Array[], producer: ProducerRef): GatedLog {
    const table = this.#gate.table;
    return {
      epoch: () => Promise.resolve(0),
      append: async (data) => {
        const ack = await this.#append(values, data);
        table.record(producer.id, producer.sequence, ack.baseOffset, values.length);
        return ack;
      },
      duplicateAck: (baseOffset, count) => ({
        baseOffset,
        count,
        duplicate: true,
        replicasFsynced: this.#durable ? 1 : 0,
        durable: this.#durable,
      }),
      // A failed write stops the file log: nothing more is appended in this process.
      mayStillAppend: () => false,
    };
  }

  read(offset: number): LogRecord {
    return this.#log.read(offset);
  }

  readFrom(offset: number, bytesMax: number): LogRecord[] {
    return this.#log.readFrom(offset, bytesMax);
  }

  firstOffset(): number {
    return this.#log.firstOffset();
  }

  nextOffset(): number {
    return this.#log.nextOffset();
  }

  waitForOffset(offset: number, signal: AbortSignal): Promise<void> {
    return this.#waiters.wait(offset, signal);
  }

  /** Wakes every waiting consumer for good (before the log closes). */
  close(): void {
    this.#waiters.close();
  }
}

/**
 * Records every retained batch that names a producer, in log order; returns how many entries
 * could not be read (a damaged frame is skipped here; reads of it fail as before).
 */
function rebuildProducerTable(log: FileLog, table: ProducerTable): number {
  const end = log.lastIndex() + 1;
  let unreadable = 0;
  // Each step reads or skips at least one entry: at most `end - firstIndex` steps.
  for (let index = log.firstIndex(); index < end;) {
    let entries;
    try {
      entries = log.entries(index, end, rebuildReadBytes);
    } catch {
      unreadable++;
      index++;
      continue;
    }
    for (const entry of entries) {
      if (entry.kind !== EntryKind.Records || entry.data.length === 0) continue;
      const producer = decodeProducerData(entry.data);
      if (producer === null) continue;
      table.record(producer.id, producer.sequence, entry.baseOffset, entry.records.length);
    }
    index += entries.length;
  }
  return unreadable;
}
