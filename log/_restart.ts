/**
 * Restarting the log at a point (Raft's InstallSnapshot): every segment goes, one empty segment
 * starting after the point comes. A `RESTART` marker written first makes it atomic: an open
 * that finds the marker finishes the restart.
 * @module
 */

import { putRestartMarker, removeRestartMarker, type RestartPoint } from "./_dir.ts";
import type { LogFs } from "./_fs.ts";
import { ignoreNotFound, Segment, syncDir } from "./_segment.ts";
import { LogError } from "./types.ts";

/** Throws `INVALID_ARGUMENT` unless every field is a non-negative integer. */
export function checkRestartPoint(point: RestartPoint): void {
  const valid = [point.index, point.term, point.nextOffset].every((n) =>
    Number.isSafeInteger(n) && n >= 0
  );
  if (!valid) {
    throw new LogError(
      "INVALID_ARGUMENT",
      `Cannot restart at index ${point.index}, term ${point.term}, offset ${point.nextOffset}: ` +
        `each must be a non-negative integer`,
    );
  }
}

function freshHeader(point: RestartPoint) {
  return { baseIndex: point.index + 1, baseOffset: point.nextOffset, prevTerm: point.term };
}

/**
 * Writes the marker, unlinks the files of `old` (their open handles keep serving reads until
 * the caller switches over) and creates the fresh segment. The caller then closes `old` and
 * removes the marker.
 */
export async function restartFiles(
  fs: LogFs,
  dir: string,
  old: readonly Segment[],
  point: RestartPoint,
): Promise<Segment> {
  await putRestartMarker(fs, dir, point);
  for (const segment of old) {
    await fs.remove(segment.storePath).catch(ignoreNotFound);
    await fs.remove(segment.indexPath).catch(ignoreNotFound);
  }
  const fresh = await Segment.create(fs, dir, freshHeader(point));
  await syncDir(fs, dir);
  return fresh;
}

/** Completes a restart a crash interrupted (idempotent). */
export async function finishRestart(fs: LogFs, dir: string, point: RestartPoint): Promise<void> {
  for await (const item of fs.readDir(dir)) {
    if (/^\d{20}\.(store|index)$/.test(item.name)) {
      await fs.remove(`${dir}/${item.name}`).catch(ignoreNotFound);
    }
  }
  (await Segment.create(fs, dir, freshHeader(point))).close();
  await syncDir(fs, dir);
  await removeRestartMarker(fs, dir);
}
