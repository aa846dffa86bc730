/**
 * A simulated file system for the production file log (`LogOptions.fs`): writes land in a
 * page cache at once and become durable only on fsync; a crash keeps the durable bytes plus a
 * seeded prefix of the unsynced writes, the last one possibly torn at a sector boundary, and
 * for every name whose directory entry was not fsynced, either its old or its new state.
 * Faults are seeded: EIO / ENOSPC on write or fsync (a failed fsync drops the dirty data from
 * what a crash keeps, as Linux does), latency spikes, and bit flips in a file's durable bytes.
 * @module
 */

import type { LogFile, LogFs } from "../../../log/mod.ts";
import type { SeededRandom } from "../random.ts";

/**
 * The unit a crash tears writes at. Real disks use 512 or 4096 bytes; the simulation's records
 * are small, so a smaller unit makes tears land inside frames and headers often.
 */
const SECTOR_BYTES = 32;

/** A mutation not yet durable: a write at a position, or a truncation. */
type Op = { kind: "write"; position: number; bytes: Uint8Array } | {
  kind: "truncate";
  length: number;
};

/** Growable bytes with the two mutations a file sees. */
class Bytes {
  data = new Uint8Array(0);
  size = 0;

  apply(op: Op): void {
    if (op.kind === "truncate") {
      this.#ensure(op.length);
      this.data.fill(0, Math.min(op.length, this.size), Math.max(op.length, this.size));
      this.size = op.length;
      return;
    }
    const end = op.position + op.bytes.length;
    this.#ensure(end);
    if (op.position > this.size) this.data.fill(0, this.size, op.position);
    this.data.set(op.bytes, op.position);
    this.size = Math.max(this.size, end);
  }

  clone(): Bytes {
    const copy = new Bytes();
    copy.data = this.data.slice(0, Math.max(this.size, 1));
    copy.size = this.size;
    return copy;
  }

  #ensure(bytes: number): void {
    if (bytes <= this.data.length) return;
    const grown = new Uint8Array(Math.max(bytes, 2 * this.data.length, 4096));
    grown.set(this.data.subarray(0, this.size));
    this.data = grown;
  }
}

/**
 * A file: what readers see (the page cache), what the disk holds for sure, and the mutations
 * in between. Durable bytes change only by applying mutations, so a write whose fsync failed
 * stays missing from them even after a later fsync succeeds.
 */
class Inode {
  cache = new Bytes();
  durable = new Bytes();
  pending: Op[] = [];

  apply(op: Op): void {
    this.cache.apply(op);
    this.pending.push(op);
  }

  sync(): void {
    for (const op of this.pending) this.durable.apply(op);
    this.pending = [];
  }

  /** What a crash leaves: durable bytes, then a prefix of the pending ops (last one torn). */
  crash(random: SeededRandom): boolean {
    const ops = this.pending.slice(0, random.intBelow(this.pending.length + 1));
    let torn = false;
    for (const [i, op] of ops.entries()) {
      if (i === ops.length - 1 && op.kind === "write" && random.chance(0.3)) {
        // Torn: only the sectors before a seeded boundary inside the write reached the disk.
        const end = op.position + op.bytes.length;
        const at = op.position + random.intBelow(op.bytes.length);
        const cut = Math.floor(at / SECTOR_BYTES) * SECTOR_BYTES;
        if (cut > op.position && cut < end) {
          const bytes = op.bytes.slice(0, cut - op.position);
          this.durable.apply({ kind: "write", position: op.position, bytes });
          torn = true;
        }
        continue;
      }
      this.durable.apply(op);
    }
    this.pending = [];
    this.cache = this.durable.clone();
    return torn;
  }
}

/** A seeded fault: thrown as the error a real file system would give. */
export type DiskFault = "EIO" | "ENOSPC";

/** Knobs of the simulated disk (probabilities per operation). */
export interface SimFsFaults {
  /** Chance that a write fails (EIO or ENOSPC, half each). */
  writeErrorP: number;
  /** Chance that an fsync fails with EIO (and the dirty data is dropped from durability). */
  syncErrorP: number;
  /** Chance that an async operation waits a latency spike instead of a short delay. */
  spikeP: number;
  /** Delay of a spike (simulated ms). */
  spikeMs: number;
  /** An operation's usual delay is 0 to this, exclusive (simulated ms; default 2). */
  latencyMs?: number;
}

/** No fault, the usual latency. */
export const NO_FAULTS: SimFsFaults = { writeErrorP: 0, syncErrorP: 0, spikeP: 0, spikeMs: 0 };

function faultError(fault: DiskFault, op: string, path: string): Error {
  const error = new Error(`${fault}: simulated ${op} failure on ${path}`);
  (error as Error & { code: string }).code = fault;
  return error;
}

/** One node's simulated disk. */
export class SimFs implements LogFs {
  readonly #random: SeededRandom;
  readonly #delay: (ms: number) => Promise<void>;
  /** Names as processes see them, and as a crash is sure to keep them. */
  #names = new Map<string, Inode>();
  #durableNames = new Map<string, Inode>();
  readonly #dirs = new Set<string>();
  readonly #locks = new Set<string>();
  /** Fenced by each crash: handles of a dead process can no longer touch the disk. */
  #generation = 0;
  faults: SimFsFaults = NO_FAULTS;
  /** Faults injected (for the run's summary). */
  readonly injected = { eio: 0, enospc: 0, syncEio: 0, torn: 0, flips: 0 };
  /** Called when a write or fsync fault is injected (the node simulation restarts the node). */
  onFault: (() => void) | null = null;
  /** Operations waiting for their latency (the disk is busy: a crash now lands inside one). */
  #waiting = 0;

  constructor(random: SeededRandom, delay: (ms: number) => Promise<void>) {
    this.#random = random;
    this.#delay = delay;
  }

  /** Power loss: unsynced data and directory entries survive only partly (seeded). */
  crash(): void {
    this.#generation++;
    this.#locks.clear();
    const names = new Map<string, Inode>();
    const paths = new Set([...this.#names.keys(), ...this.#durableNames.keys()]);
    for (const path of [...paths].sort()) {
      const now = this.#names.get(path);
      const before = this.#durableNames.get(path);
      // A name not fsynced into its directory: either state may be what the disk holds.
      const inode = now === before || this.#random.chance(0.5) ? now : before;
      if (inode !== undefined) names.set(path, inode);
    }
    for (const inode of new Set(names.values())) {
      if (inode.crash(this.#random)) this.injected.torn++;
    }
    this.#names = names;
    this.#durableNames = new Map(names);
  }

  /** Flips one bit of `path`'s durable and cached bytes at a seeded position; false if empty. */
  flipBit(path: string, fromByte = 0): boolean {
    const inode = this.#names.get(path);
    if (inode === undefined || inode.cache.size <= fromByte) return false;
    const at = fromByte + this.#random.intBelow(inode.cache.size - fromByte);
    const bit = 1 << this.#random.intBelow(8);
    inode.cache.data[at]! ^= bit;
    if (at < inode.durable.size) inode.durable.data[at]! ^= bit;
    this.injected.flips++;
    return true;
  }

  /** Paths of existing files whose name matches `pattern`. */
  files(pattern: RegExp): string[] {
    return [...this.#names.keys()].filter((p) => pattern.test(p)).sort();
  }

  /** Operations in progress (waiting for the disk). */
  busy(): number {
    return this.#waiting;
  }

  /** Waits the operation's latency; then fails if its process crashed meanwhile. */
  async #wait(generation = this.#generation, path = ""): Promise<void> {
    const f = this.faults;
    this.#waiting++;
    try {
      await this.#delay(
        this.#random.chance(f.spikeP) ? f.spikeMs : this.#random.intBelow(f.latencyMs ?? 2),
      );
    } finally {
      this.#waiting--;
    }
    this.#live(generation, path);
  }

  /**
   * The file system as one process sees it: after a crash, every operation of it fails, so
   * an abandoned log (still running its last group commit or roll) never reaches the disk.
   */
  process(): LogFs {
    const g = this.#generation;
    return {
      open: (path, options) => this.open(path, options, g),
      remove: (path) => this.remove(path, g),
      rename: (from, to) => this.rename(from, to, g),
      readFile: (path) => this.readFile(path, g),
      readDir: (path) => this.readDir(path, g),
      mkdir: (path, options) => this.mkdir(path, options, g),
    };
  }

  #live(generation: number, path: string): void {
    if (generation !== this.#generation) {
      throw new Error(`EIO: ${path} was opened by a process that crashed`);
    }
  }

  #writeFault(path: string): void {
    if (!this.#random.chance(this.faults.writeErrorP)) return;
    const fault: DiskFault = this.#random.chance(0.5) ? "EIO" : "ENOSPC";
    if (fault === "EIO") this.injected.eio++;
    else this.injected.enospc++;
    this.onFault?.();
    throw faultError(fault, "write", path);
  }

  async open(path: string, options: Deno.OpenOptions, g = this.#generation): Promise<LogFile> {
    await this.#wait(g, path);
    if (this.#dirs.has(path)) return this.#dirHandle(path);
    let inode = this.#names.get(path);
    if (inode === undefined) {
      if (options.create !== true) throw new Deno.errors.NotFound(`No such file: ${path}`);
      inode = new Inode();
      this.#names.set(path, inode);
    } else if (options.truncate === true) {
      inode.apply({ kind: "truncate", length: 0 });
    }
    return this.#handle(path, inode, options.append === true);
  }

  #dirHandle(path: string): LogFile {
    const handle = this.#handle(path, new Inode(), false);
    const generation = this.#generation;
    const sync = async () => {
      await this.#wait(generation, path);
      // The directory's entries become durable: names under it now survive a crash as they are.
      for (const name of new Set([...this.#names.keys(), ...this.#durableNames.keys()])) {
        if (!name.startsWith(`${path}/`)) continue;
        const inode = this.#names.get(name);
        if (inode === undefined) this.#durableNames.delete(name);
        else this.#durableNames.set(name, inode);
      }
    };
    return { ...handle, sync, syncData: sync };
  }

  #handle(path: string, inode: Inode, append: boolean): LogFile {
    const generation = this.#generation;
    // The handle's methods are object-literal methods (their own `this`) that reach the
    // disk's private state.
    // deno-lint-ignore no-this-alias
    const fs = this;
    let position = 0;
    let closed = false;
    const check = () => {
      if (closed) throw new Deno.errors.BadResource(`${path} is closed`);
      fs.#live(generation, path);
    };
    const writeSync = (bytes: Uint8Array): number => {
      check();
      fs.#writeFault(path);
      if (append) position = inode.cache.size;
      inode.apply({ kind: "write", position, bytes: bytes.slice() });
      position += bytes.length;
      return bytes.length;
    };
    const syncData = async (): Promise<void> => {
      check();
      await fs.#wait(generation, path);
      if (fs.#random.chance(fs.faults.syncErrorP)) {
        fs.injected.syncEio++;
        // Linux marks the dirty pages clean after a failed writeback: a crash loses them
        // although every read still returns them.
        inode.pending = [];
        fs.onFault?.();
        throw faultError("EIO", "fsync", path);
      }
      inode.sync();
    };
    return {
      readSync(target) {
        check();
        const cache = inode.cache;
        if (position >= cache.size) return null;
        const n = Math.min(target.length, cache.size - position);
        target.set(cache.data.subarray(position, position + n));
        position += n;
        return n;
      },
      seekSync(offset, whence) {
        check();
        position = whence === Deno.SeekMode.Start
          ? offset
          : whence === Deno.SeekMode.End
          ? inode.cache.size + offset
          : position + offset;
        return position;
      },
      writeSync,
      async write(bytes) {
        check();
        await fs.#wait(generation, path);
        return writeSync(bytes);
      },
      syncData,
      sync: syncData,
      async truncate(length = 0) {
        check();
        await fs.#wait(generation, path);
        inode.apply({ kind: "truncate", length });
      },
      statSync() {
        check();
        return { size: inode.cache.size };
      },
      tryLock() {
        check();
        if (fs.#locks.has(path)) return Promise.resolve(false);
        fs.#locks.add(path);
        return Promise.resolve(true);
      },
      unlock() {
        fs.#locks.delete(path);
        return Promise.resolve();
      },
      close() {
        check();
        closed = true;
        // Closing the lock file releases the lock (like the OS does).
        if (path.endsWith("/LOCK")) fs.#locks.delete(path);
      },
    };
  }

  async remove(path: string, g = this.#generation): Promise<void> {
    await this.#wait(g, path);
    if (!this.#names.delete(path)) throw new Deno.errors.NotFound(`No such file: ${path}`);
  }

  async rename(from: string, to: string, g = this.#generation): Promise<void> {
    await this.#wait(g, from);
    const inode = this.#names.get(from);
    if (inode === undefined) throw new Deno.errors.NotFound(`No such file: ${from}`);
    this.#names.delete(from);
    this.#names.set(to, inode);
  }

  async readFile(path: string, g = this.#generation): Promise<Uint8Array> {
    await this.#wait(g, path);
    const inode = this.#names.get(path);
    if (inode === undefined) throw new Deno.errors.NotFound(`No such file: ${path}`);
    return inode.cache.data.slice(0, inode.cache.size);
  }

  async *readDir(path: string, g = this.#generation): AsyncIterable<{ readonly name: string }> {
    await this.#wait(g, path);
    const names = [...this.#names.keys()].filter((p) => p.startsWith(`${path}/`));
    for (const name of names.sort()) yield { name: name.slice(path.length + 1) };
  }

  async mkdir(
    path: string,
    _options?: { recursive: boolean },
    g = this.#generation,
  ): Promise<void> {
    await this.#wait(g, path);
    this.#dirs.add(path);
  }
}
