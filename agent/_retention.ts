/**
 * Retention on a cluster member. The log's own retention never runs under Raft (it would
 * delete on its own schedule, entries Raft has not committed or applied yet); the agent runs
 * this pass instead: it removes whole segments the limits let go, but never an entry above
 * the applied index. What is left starts at a snapshot point (index, term, offset) that the
 * store keeps; a follower behind it is restarted there by the leader (InstallSnapshot), with
 * the same offsets.
 * @module
 */
import type { FileLog } from "../log/mod.ts";
import type { Metrics } from "../observe/mod.ts";
import type { Logger } from "../server/mod.ts";

/** The operator's limits (`--retention-bytes`, `--retention-ms`); absent means no limit. */
export interface RetentionLimits {
  readonly retentionBytes?: number;
  readonly retentionMs?: number;
}

/** What one pass did. */
export interface CompactionResult {
  /** First entry index kept after the pass. */
  readonly firstIndex: number;
  /** First record offset kept after the pass. */
  readonly firstOffset: number;
  /**
   * Entries the limits let go that are still here because of the applied index: from the
   * first entry kept to the point the limits alone would have removed up to.
   */
  readonly heldBack: number;
}

/**
 * Removes the segments `limits` let go, up to `appliedIndex` (inclusive) and never beyond:
 * an entry not yet applied here may still be needed to commit, apply or serve it.
 */
export async function compactApplied(
  log: FileLog,
  limits: RetentionLimits,
  appliedIndex: number,
): Promise<CompactionResult> {
  const wanted = log.retentionPoint(limits);
  const before = Math.min(wanted, appliedIndex + 1);
  if (before > log.firstIndex()) await log.deletePrefix(before);
  const firstIndex = log.firstIndex();
  if (firstIndex > appliedIndex + 1) {
    throw new Error(
      `retention removed entry ${appliedIndex + 1}, which is not applied yet (first ${firstIndex})`,
    );
  }
  // Counted from what is left, not from the bound: segments go whole, so the one holding
  // the applied index stays with the entries below it as well.
  return { firstIndex, firstOffset: log.firstOffset(), heldBack: Math.max(0, wanted - firstIndex) };
}

/** A running retention schedule: how to stop it, and what its last pass held back. */
export interface ClusterRetention {
  /** Stops the timer and waits for a pass under way (so the log can close after it). */
  stop(): Promise<void>;
  /** Entries the last pass kept beyond the limits because they were not applied here yet. */
  heldBackEntries(): number;
}

/**
 * Runs {@linkcode compactApplied} every `everyMs` against the applied index `applied()`
 * reads; logs each removal (never a silent cut) and keeps what the last pass held back.
 */
export function scheduleClusterRetention(
  log: FileLog,
  limits: RetentionLimits,
  applied: () => number,
  options: { everyMs: number; logger: Logger },
): ClusterRetention {
  let running: Promise<void> | null = null;
  let stopped = false;
  let heldBack = 0;
  const timer = setInterval(() => {
    if (running !== null || stopped) return; // a slow pass is still going: never pile up
    const firstBefore = log.firstOffset();
    running = compactApplied(log, limits, applied())
      .then((result) => {
        heldBack = result.heldBack;
        if (result.firstOffset === firstBefore) return;
        options.logger.info("retention removed the oldest records", {
          firstOffset: result.firstOffset,
          firstIndex: result.firstIndex,
          heldBackEntries: result.heldBack,
        });
      })
      .catch((error) => {
        if (!stopped) options.logger.warn("retention failed", { error: String(error) });
      })
      .finally(() => running = null);
  }, options.everyMs);
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await running;
    },
    heldBackEntries: () => heldBack,
  };
}

/** Exports what `retention` held back as `strand_retention_held_back_entries`. */
export function registerRetentionMetrics(metrics: Metrics, retention: ClusterRetention): void {
  metrics.gauge({
    name: "strand_retention_held_back_entries",
    help: "Raft entries the retention limits let go but the last pass kept because they are " +
      "not applied here yet (not committed, or committed but not applied); 0 when retention " +
      "is not held back.",
    collect() {
      this.set(retention.heldBackEntries());
    },
  });
}
