/**
 * {@linkcode openLog}: lock the directory, finish an interrupted restart, recover the segments.
 * @module
 */

import { lockDir, readRestartMarker, takeCleanMarker } from "./_dir.ts";
import { FileLog } from "./_file_log.ts";
import { type LogOptions, resolveLogOptions } from "./_options.ts";
import { recoverSegments, recoveryReport } from "./_recovery.ts";
import { finishRestart } from "./_restart.ts";
import { Segment, syncDir } from "./_segment.ts";

/**
 * Opens (creating if needed) the log in `dir`, recovering from a crash if the last close did
 * not complete. Takes an exclusive lock on the directory: a second open fails with `LOCKED`.
 *
 * @example
 * ```ts
 * const log = await openLog("./data/log", { fsync: parseFsyncPolicy("always") });
 * const { baseOffset } = await log.append([new TextEncoder().encode("hello")]);
 * console.log(new TextDecoder().decode(log.read(baseOffset).value));
 * await log.close();
 * ```
 */
export async function openLog(dir: string, options?: LogOptions): Promise<FileLog> {
  const resolved = resolveLogOptions(options);
  const fs = resolved.fs;
  await fs.mkdir(dir, { recursive: true });
  const lock = await lockDir(fs, dir);
  try {
    const restart = await readRestartMarker(fs, dir);
    if (restart !== null) await finishRestart(fs, dir, restart);
    const clean = await takeCleanMarker(fs, dir);
    let segments = await recoverSegments(fs, dir, clean, recoveryReport(resolved.observer));
    if (segments.length === 0) {
      segments = [await Segment.create(fs, dir, { baseIndex: 1, baseOffset: 0, prevTerm: 0 })];
      await syncDir(fs, dir);
    }
    return new FileLog(dir, resolved, lock, segments);
  } catch (error) {
    lock.close();
    throw error;
  }
}
