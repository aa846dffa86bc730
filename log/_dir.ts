/**
 * The data directory's small files: the `LOCK` held while open, the `CLEAN` marker left by a
 * completed close, and the `RESTART` marker that makes a restart (InstallSnapshot) atomic.
 * @module
 */

import { ignoreNotFound, syncDir } from "./_segment.ts";
import { LogError } from "./types.ts";

/** Takes the exclusive lock of `dir` (released on close, or by the OS if the process dies). */
export async function lockDir(dir: string): Promise<Deno.FsFile> {
  const lock = await Deno.open(`${dir}/LOCK`, { read: true, write: true, create: true });
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
export async function takeCleanMarker(dir: string): Promise<boolean> {
  try {
    await Deno.remove(`${dir}/CLEAN`);
  } catch (error) {
    ignoreNotFound(error);
    return false;
  }
  await syncDir(dir);
  return true;
}

/** Leaves the marker that lets the next open trust the last segment without a scan. */
export async function putCleanMarker(dir: string): Promise<void> {
  const file = await Deno.open(`${dir}/CLEAN`, { write: true, create: true, truncate: true });
  file.close();
  await syncDir(dir);
}

/** Where a restarted log begins. */
export interface RestartPoint {
  readonly index: number;
  readonly term: number;
  readonly nextOffset: number;
}

/** Writes the restart marker atomically (temp file, fsync, rename, fsync dir). */
export async function putRestartMarker(dir: string, point: RestartPoint): Promise<void> {
  await writeAtomically(dir, "RESTART", new TextEncoder().encode(JSON.stringify(point)));
}

/** The pending restart of `dir`, or null. */
export async function readRestartMarker(dir: string): Promise<RestartPoint | null> {
  let text: string;
  try {
    text = await Deno.readTextFile(`${dir}/RESTART`);
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
export async function removeRestartMarker(dir: string): Promise<void> {
  await Deno.remove(`${dir}/RESTART`).catch(ignoreNotFound);
  await syncDir(dir);
}

/** Replaces `dir/name` with `bytes` so that a crash leaves either the old or the new bytes. */
export async function writeAtomically(dir: string, name: string, bytes: Uint8Array): Promise<void> {
  const temp = `${dir}/${name}.tmp`;
  const file = await Deno.open(temp, { write: true, create: true, truncate: true });
  try {
    let done = 0;
    while (done < bytes.length) done += await file.write(bytes.subarray(done));
    await file.sync();
  } finally {
    file.close();
  }
  await Deno.rename(temp, `${dir}/${name}`);
  await syncDir(dir);
}
