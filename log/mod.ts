/**
 * `log/`: Strand's storage engine — a segmented, crash-safe, append-only log of Raft entries
 * whose record batches carry dense record offsets — plus its in-memory twin and the small
 * atomic meta store Raft keeps its term and vote in.
 *
 * @example
 * ```ts
 * import { openLog, parseFsyncPolicy } from "./log/mod.ts";
 * const log = await openLog("./data/log", { fsync: parseFsyncPolicy("always") });
 * const { baseOffset } = await log.append([new TextEncoder().encode("hello")]);
 * log.read(baseOffset); // { value, offset: 0, term: 0 }
 * await log.close();
 * ```
 * @module
 */

export * from "./types.ts";
export { FileLog } from "./_file_log.ts";
export { openLog } from "./_open.ts";
export { MemoryLog, type MemoryLogOptions } from "./_memory_log.ts";
export { openMetaStore } from "./_meta_store.ts";
export {
  type FsyncPolicy,
  type GroupCommitEvent,
  type LogObserver,
  type LogOptions,
  parseFsyncPolicy,
  type RecoveryEvent,
  resolveLogOptions,
} from "./_options.ts";
export { crc32c } from "./_crc32c.ts";
export { DENO_FS, type LogFile, type LogFs } from "./_fs.ts";
