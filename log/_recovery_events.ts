/**
 * The recovery events the log reports (see `RecoveryEvent`), with their messages.
 * @module
 */

import type { RecoveryEvent } from "./_options.ts";
import type { DamagedRange, TornTail } from "./_scan.ts";

/** The event of a damaged range kept in place, found `when` ("at open", "while reading"). */
export function corruptEvent(storePath: string, range: DamagedRange, when: string): RecoveryEvent {
  const offsets = range.endOffset > range.firstOffset
    ? `offsets ${range.firstOffset} to ${range.endOffset - 1}`
    : "no records";
  const message = `Found damaged entries ${range.firstIndex} to ${range.endIndex - 1} ${when} ` +
    `(${offsets}) in ${storePath}: ${range.bytes} bytes at position ${range.position} hold ` +
    `${range.reason}. They are acknowledged data, kept, never cut: reads of them fail with ` +
    `CORRUPT and their offsets are never reused. Restore them from a replica or a backup if ` +
    `they matter`;
  return { kind: "corrupt", storePath, ...range, message };
}

/** The event of a cut torn tail (or of bytes after a sealed segment's last entry). */
export function tailEvent(storePath: string, tail: TornTail, sealed: boolean): RecoveryEvent {
  const message = sealed
    ? `Cut ${tail.bytes} bytes after the last entry of sealed segment ${storePath} ` +
      `(${tail.reason}): they hold no entry`
    : `Cut the torn tail of ${storePath} left by a write the crash interrupted: ${tail.bytes} ` +
      `bytes from position ${tail.position} (${tail.reason}), from entry ${tail.firstIndex} ` +
      `and offset ${tail.firstOffset} on; nothing valid follows it. Appends not yet durable ` +
      `when the process stopped are lost; the next record gets offset ${tail.firstOffset}`;
  return { kind: "tail_cut", storePath, ...tail, message };
}
