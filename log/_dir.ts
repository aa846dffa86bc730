/**
 * The data directory's small files: the `LOCK` held while open, the `CLEAN` marker left by a
 * completed close, and the `RESTART` marker that makes a restart (InstallSnapshot) atomic.
 * @module
 */

import { ignoreNotFound, syncDir } from "./_segment.ts";
import type { LogFile, LogFs } from "./_fs.ts";
import { LogError } from "./types.ts";

/** Takes the exclusive lock of `dir` (released on close, or by the OS if the process dies). */
export async function lockDir(fs: LogFs, dir: string): Promise<LogFile> {
  const lock = await fs.open(`${dir}/LOCK`, { read: true, write: true, create: true });
  let locked = false;
  try {
    locked = await lock.tryLock(true);
  } finally {
    if (!locked) lock.close();
  }
  if (!locked) {
    throw new LogError(
      "LOCKED",
      `Cannot open the log: data dir ${dir} is in use by another process (or another open ` +
        `log in this one); close it first`,
    );
  }
  return lock;
}

/** Whether the last close of `dir` completed; removes the marker durably before writes. */
export async function takeCleanMarker(fs: LogFs, dir: string): Promise<boolean> {
  try {
    await fs.remove(`${dir}/CLEAN`);
  } catch (error) {
    ignoreNotFound(error);
    return false;
  }
  await syncDir(fs, dir);
  return true;
}

/** Leaves the marker that lets the next open trust the last segment without a scan. */
export async function putCleanMarker(fs: LogFs, dir: string): Promise<void> {
  const file = await fs.open(`${dir}/CLEAN`, { write: true, create: true, truncate: true });
  file.close();
  await syncDir(fs, dir);
}

/** Where a restarted log begins. */
export interface RestartPoint {
  readonly index: number;
  readonly term: number;
  readonly nextOffset: number;
}

/** Writes the restart marker atomically (temp file, fsync, rename, fsync dir). */
export async function putRestartMarker(fs: LogFs, dir: string, point: RestartPoint): Promise<void> {
  await writeAtomically(fs, dir, "RESTART", new TextEncoder().encode(JSON.stringify(point)));
}

/** The pending restart of `dir`, or null. */
export async function readRestartMarker(fs: LogFs, dir: string): Promise<RestartPoint | null> {
  let text: string;
  try {
    text = new TextDecoder().decode(await fs.readFile(`${dir}/RESTART`));
  } catch (error) {
    ignoreNotFound(error);
    return null;
  }
  const point = JSON.parse(text) as RestartPoint;
  const valid = [point.index, point.term, point.nextOffset].every((n) =>
    Number.isSafeInteger(n) && n >= 0
  );
  if (!valid) throw new LogError("CORRUPT", `Cannot open the log: ${dir}/RESTART is malformed`);
  return point;
}

/** Removes the restart marker durably. */
export async function removeRestartMarker(fs: LogFs, dir: string): Promise<void> {
  await fs.remove(`${dir}/RESTART`).catch(ignoreNotFound);
  await syncDir(fs, dir);
}

/** Replaces `dir/name` with `bytes` so that a crash leaves either the old or the new bytes. */
export async function writeAtomically(
  fs: LogFs,
  dir: string,
  name: string,
  bytes: Uint8Array,
): Promise<void> {
  const temp = `${dir}/${name}.tmp`;
  const file = await fs.open(temp, { write: true, create: true, truncate: true });
  try {
    let done = 0;
    while (done < bytes.length) done += await file.write(bytes.subarray(done));
    await file.sync();
  } finally {
    file.close();
  }
  await fs.rename(temp, `${dir}/${name}`);
  await syncDir(fs, dir);
}
