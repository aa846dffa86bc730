/**
 * The file-system seam of the file log: every open, read, write, fsync, rename, truncate and
 * unlink of `log/` goes through a `LogFs`. The default is the real Deno file system; a test
 * passes a simulated disk (page cache, lost unsynced writes on crash, torn writes, EIO,
 * ENOSPC, bit flips) through `LogOptions.fs` without any branch in the log itself.
 * @module
 */

/** An open file: the subset of `Deno.FsFile` the log uses (a `Deno.FsFile` is one). */
export interface LogFile {
  /** Reads into `target` at the current position; null at end of file. */
  readSync(target: Uint8Array): number | null;
  /** Moves the position; returns the new position. */
  seekSync(offset: number, whence: Deno.SeekMode): number;
  /** Writes at the position (at the end in append mode); returns the bytes written. */
  writeSync(bytes: Uint8Array): number;
  /** Asynchronous write; returns the bytes written. */
  write(bytes: Uint8Array): Promise<number>;
  /** fdatasync: data written so far is durable when this resolves. */
  syncData(): Promise<void>;
  /** fsync (of a file or a directory). */
  sync(): Promise<void>;
  /** Cuts (or extends) the file to `length` bytes. */
  truncate(length?: number): Promise<void>;
  /** The file's current size. */
  statSync(): { readonly size: number };
  /** Takes an advisory lock without waiting; false if another holder has it. */
  tryLock(exclusive?: boolean): Promise<boolean>;
  /** Releases the lock. */
  unlock(): Promise<void>;
  close(): void;
}

/** The directory operations of the log. Errors are the `Deno.errors` classes (NotFound...). */
export interface LogFs {
  open(path: string, options: Deno.OpenOptions): Promise<LogFile>;
  remove(path: string): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  readFile(path: string): Promise<Uint8Array>;
  readDir(path: string): AsyncIterable<{ readonly name: string }>;
  mkdir(path: string, options: { recursive: boolean }): Promise<void>;
}

/** The real file system (the default of `LogOptions.fs`). */
export const DENO_FS: LogFs = {
  open: (path, options) => Deno.open(path, options),
  remove: (path) => Deno.remove(path),
  rename: (from, to) => Deno.rename(from, to),
  readFile: (path) => Deno.readFile(path),
  readDir: (path) => Deno.readDir(path),
  mkdir: (path, options) => Deno.mkdir(path, options),
};
