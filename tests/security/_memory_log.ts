/** The smallest `CommitLog` that the real service can serve, for the integration tests. */
import { type CommitLog, OffsetWaiters, type ServedRecord } from "../../server/mod.ts";

/** Records in an array; enough for produce, consume and a health check. */
export class MemoryLog implements CommitLog {
  readonly records: ServedRecord[] = [];
  readonly #waiters = new OffsetWaiters(() => this.nextOffset());

  append(values: Uint8Array[]): Promise<{ baseOffset: number }> {
    const baseOffset = this.nextOffset();
    values.forEach((value, i) => this.records.push({ value, offset: baseOffset + i, term: 0 }));
    this.#waiters.notify();
    return Promise.resolve({ baseOffset });
  }

  read(offset: number): ServedRecord {
    const record = this.records[offset];
    if (record === undefined) {
      throw Object.assign(new Error(`Cannot read offset ${offset}`), {
        code: "OFFSET_OUT_OF_RANGE",
      });
    }
    return record;
  }

  readFrom(offset: number, _bytesMax: number): ServedRecord[] {
    return this.records.slice(offset, offset + 1);
  }

  firstOffset(): number {
    return 0;
  }

  nextOffset(): number {
    return this.records.length;
  }

  waitForOffset(offset: number, signal: AbortSignal): Promise<void> {
    return this.#waiters.wait(offset, signal);
  }
}
