/**
 * Checking a trusted index against its store when a read through it fails.
 *
 * Opening trusts an index after O(1) checks (its size, first and last entries), so damage in
 * its middle shows only when a read through it fails: a frame that does not verify where the
 * index says it is, or an entry that does not hold the offset the index says it does. Then the
 * store is walked once (as recovery does) and, if the index disagrees with the verified
 * frames, reads use the rebuilt entries from then on. A damaged frame is not an index fault:
 * its read still fails with `CORRUPT`.
 * @module
 */

import { INDEX_ENTRY_BYTES } from "./_codec.ts";
import type { RecoveryEvent } from "./_options.ts";
import { type DamagedRange, scanStore } from "./_scan.ts";
import type { Segment } from "./_segment.ts";
import { corruptEvent } from "./_recovery_events.ts";

/** What checking an index against its store found. */
export interface IndexCheck {
  /** Reads now use an index rebuilt from the store (the file's disagreed). */
  readonly rebuilt: boolean;
  /** To report: damaged frames the walk found (kept as they are) and the rebuild. */
  readonly events: readonly RecoveryEvent[];
}

const UNCHANGED: IndexCheck = { rebuilt: false, events: [] };

/**
 * Checks `segment`'s index against its store (once per process and segment). Reads use a
 * rebuilt index from then on if the file's disagrees with the verified frames; damaged frames
 * found on the way are reported. Nothing changes if the index was checked before or the store
 * cannot be walked to the segment's extent. `active`: the segment appends go to, whose index
 * file may hold entries of a group being written past the visible extent; those are kept.
 */
export function checkIndexAgainstStore(segment: Segment, active: boolean): IndexCheck {
  if (segment.indexVerified) return UNCHANGED;
  segment.indexVerified = true;
  const extent = segment.extent;
  const bounds = {
    endIndex: segment.endIndex,
    endOffset: extent.nextOffset,
    endTerm: extent.lastTerm,
  };
  const scan = scanStore(segment, extent.storeBytes, bounds, false);
  const walked = scan.tail === null && scan.extent.entryCount === extent.entryCount &&
    scan.extent.nextOffset === extent.nextOffset;
  if (!walked) return UNCHANGED;
  const events = scan.damaged.map((range) =>
    corruptEvent(segment.storePath, range, "while reading")
  );
  const visibleBytes = extent.entryCount * INDEX_ENTRY_BYTES;
  const file = segment.readIndexFile();
  const rebuilt = scan.index.slice();
  keepFileTermsOfDamaged(rebuilt, file, segment.baseIndex, scan.damaged);
  const differs = firstDifference(rebuilt, file.subarray(0, visibleBytes));
  if (differs < 0) return { rebuilt: false, events };
  const inFlight = active ? file.subarray(Math.min(visibleBytes, file.length)) : new Uint8Array(0);
  const entries = new Uint8Array(rebuilt.length + inFlight.length);
  entries.set(rebuilt);
  entries.set(inFlight, rebuilt.length);
  segment.useRebuiltIndex(entries);
  const reason = `index entry ${differs} (entry ${segment.baseIndex + differs}) disagrees ` +
    `with the verified frames of the store`;
  const message = `Rebuilt the index of ${segment.storePath} from its store while reading: ` +
    `${reason}; the index file is rewritten`;
  const event: RecoveryEvent = {
    kind: "index_rebuilt",
    storePath: segment.storePath,
    reason,
    message,
  };
  return { rebuilt: true, events: [...events, event] };
}

/**
 * A damaged frame's term cannot be read from it; the index entry written with the frame is
 * the best knowledge of it, so a damaged entry keeps the index file's term.
 */
function keepFileTermsOfDamaged(
  rebuilt: Uint8Array,
  file: Uint8Array,
  baseIndex: number,
  damaged: readonly DamagedRange[],
): void {
  for (const range of damaged) {
    for (let index = range.firstIndex; index < range.endIndex; index++) {
      const term = (index - baseIndex) * INDEX_ENTRY_BYTES + 16;
      if (term + 8 <= file.length) rebuilt.set(file.subarray(term, term + 8), term);
    }
  }
}

/** Entry number of the first index entry where `a` and `b` differ, or -1. */
function firstDifference(a: Uint8Array, b: Uint8Array): number {
  const length = Math.max(a.length, b.length);
  // Bounded by the index size.
  for (let i = 0; i < length; i++) {
    if (a[i] !== b[i]) return Math.floor(i / INDEX_ENTRY_BYTES);
  }
  return -1;
}
