/**
 * An in-memory CommitLog for the server tests: the same contract as the agent's adapter
 * over the file log (coded errors, wake-ups after appends, a record size limit).
 */
import { OffsetWaiters, type ServedRecord } from "../../server/mod.ts";
import type { AppendAck, CommitLog, ProducerRef } from "../../server/mod.ts";

class CodedError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

export class MemoryLog implements CommitLog {
  readonly records: ServedRecord[] = [];
  readonly waiters = new OffsetWaiters(() => this.nextOffset());
  first = 0;
  appends = 0;
  /** Appends started (counted before the gate), to see requests in flight. */
  appendCalls = 0;
  /** Records per append call, in call order. */
  readonly appendSizes: number[] = [];
  /** Records handed out by readFrom, to see how far a stream read ahead. */
  recordsRead = 0;
  /** When set, the next append waits for this promise (to hold requests in flight). */
  gate: Promise<void> | null = null;
  /** The producer handed with each append call, in call order. */
  readonly producers: (ProducerRef | undefined)[] = [];
  /** Batches appended per "id/sequence" (a minimal stand-in for the agent's table). */
  readonly #batches = new Map<string, { baseOffset: number; count: number }>();

  constructor(readonly recordBytesMax = 1024 * 1024) {}

  async append(values: Uint8Array[], producer?: ProducerRef): Promise<AppendAck> {
    this.producers.push(producer);
    const key = producer && `${producer.id}/${producer.sequence}`;
    const seen = key === undefined ? undefined : this.#batches.get(key);
    if (seen !== undefined) return { ...seen, duplicate: true };
    for (const value of values) {
      if (value.length > this.recordBytesMax) {
        throw new CodedError(
          "TOO_LARGE",
          `Cannot append a record of ${value.length} bytes: the limit is ${this.recordBytesMax}`,
        );
      }
    }
    this.appendCalls++;
    this.appendSizes.push(values.length);
    if (this.gate) await this.gate;
    const baseOffset = this.nextOffset();
    values.forEach((value, i) => this.records.push({ value, offset: baseOffset + i, term: 0 }));
    this.appends++;
    this.waiters.notify();
    if (key !== undefined) this.#batches.set(key, { baseOffset, count: values.length });
    return { baseOffset };
  }

  read(offset: number): ServedRecord {
    const record = this.records[offset];
    if (!record || offset < this.first) {
      throw new CodedError("OFFSET_OUT_OF_RANGE", `Cannot read offset ${offset}`);
    }
    return record;
  }

  readFrom(offset: number, bytesMax: number): ServedRecord[] {
    const out: ServedRecord[] = [];
    let bytes = 0;
    for (let at = offset; at < this.records.length; at++) {
      const record = this.read(at);
      bytes += record.value.length;
      if (out.length > 0 && bytes > bytesMax) break;
      out.push(record);
    }
    this.recordsRead += out.length;
    return out;
  }

  firstOffset(): number {
    return this.first;
  }

  nextOffset(): number {
    return this.records.length;
  }

  waitForOffset(offset: number, signal: AbortSignal): Promise<void> {
    return this.waiters.wait(offset, signal);
  }
}
