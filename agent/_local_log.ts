/**
 * The single-node CommitLog: the file log, plus the wake-up of tailing consumers after each
 * append resolves (the log itself does not notify).
 * @module
 */
import type { FileLog, LogRecord } from "../log/mod.ts";
import { type AppendAck, type CommitLog, OffsetWaiters } from "../server/mod.ts";

/** Serves a local {@linkcode FileLog} to the server. */
export class LocalCommitLog implements CommitLog {
  readonly #log: FileLog;
  readonly #waiters: OffsetWaiters;
  /** Whether an append resolves only once fsynced (`--fsync always`). */
  readonly #durable: boolean;

  /** `durable`: the log fsyncs before an append resolves (the default policy, `always`). */
  constructor(log: FileLog, options: { durable?: boolean } = {}) {
    this.#log = log;
    this.#durable = options.durable ?? true;
    this.#waiters = new OffsetWaiters(() => log.nextOffset());
  }

  async append(values: Uint8Array[]): Promise<AppendAck> {
    const { baseOffset } = await this.#log.append(values);
    this.#waiters.notify();
    // One node: the only replica, fsynced only under `--fsync always`.
    return { baseOffset, replicasFsynced: this.#durable ? 1 : 0, durable: this.#durable };
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
