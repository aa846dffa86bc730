/**
 * Retention at segment granularity, like Kafka's `retention.bytes` and `retention.ms`: only
 * whole sealed segments go, oldest first; the active segment always stays.
 * @module
 */

import { FRAME_HEADER_BYTES, INDEX_ENTRY_BYTES, readFrameHeader } from "./_codec.ts";
import type { Segment } from "./_segment.ts";

/** Append time of the segment's newest entry (read once from its last frame), or null. */
function readLastTimestamp(segment: Segment): number | null {
  const extent = segment.extent;
  if (extent.lastTimestampMs !== null) return extent.lastTimestampMs;
  if (extent.entryCount === 0) return null;
  const position = segment.indexEntry(extent.entryCount - 1).position;
  const header = readFrameHeader(segment.readStore(position, FRAME_HEADER_BYTES), 0);
  extent.lastTimestampMs = header?.timestampMs ?? null;
  return extent.lastTimestampMs;
}

/** Limits to apply; undefined means no limit of that kind. */
export interface RetentionLimits {
  readonly retentionBytes: number | undefined;
  readonly retentionMs: number | undefined;
  readonly nowMs: number;
}

/**
 * How many of the oldest segments to delete. By size, a segment goes while the log without it
 * still holds at least `retentionBytes` (Kafka's rule: never drop below the limit). By age,
 * a segment goes when its newest entry is older than `retentionMs`.
 */
export function retentionVictims(segments: readonly Segment[], limits: RetentionLimits): number {
  let total = 0;
  for (const segment of segments) total += segmentBytes(segment);
  let count = 0;
  while (count < segments.length - 1) {
    const segment = segments[count]!;
    const bytes = segmentBytes(segment);
    const bySize = limits.retentionBytes !== undefined && total - bytes >= limits.retentionBytes;
    let byAge = false;
    if (!bySize && limits.retentionMs !== undefined) {
      const newestMs = readLastTimestamp(segment);
      byAge = newestMs !== null && limits.nowMs - newestMs > limits.retentionMs;
    }
    if (!bySize && !byAge) break;
    total -= bytes;
    count += 1;
  }
  return count;
}

function segmentBytes(segment: Segment): number {
  return segment.extent.storeBytes + segment.extent.entryCount * INDEX_ENTRY_BYTES;
}
