/**
 * The leader's view of one follower: how much of the log it holds, what is in flight to it,
 * and whether it answered recently (check-quorum). Probe sends one AppendEntries at a time
 * until the follower's position is known; Replicate pipelines, bounded by in-flight bytes and
 * messages.
 * @module
 */

/** Limits on what may be in flight to one follower. */
export interface InflightLimits {
  readonly inflightMessagesMax: number;
  readonly inflightBytesMax: number;
}

/** Replication state of one follower, as seen by the leader. */
export class Progress {
  /** Highest index known to match the leader's log. */
  match = 0;
  /** Next index to send. */
  next: number;
  /** Probe: one message at a time; Replicate: pipelined. */
  state: "probe" | "replicate" = "probe";
  /** In probe state, set once a message is out; cleared by any answer or a heartbeat answer. */
  probeSent = false;
  /** Answered since the last check-quorum round. */
  recentActive = false;
  /** The commit index carried by the last AppendEntries sent (to send a new one when it moves). */
  commitSent = 0;
  /** Highest ReadIndex round the follower acknowledged. */
  readSeqAcked = 0;
  readonly #inflight: { lastIndex: number; bytes: number }[] = [];
  #inflightBytes = 0;

  constructor(next: number) {
    this.next = next;
  }

  /** Whether the leader must hold back AppendEntries to this follower. */
  isPaused(limits: InflightLimits): boolean {
    if (this.state === "probe") return this.probeSent;
    return this.#inflight.length >= limits.inflightMessagesMax ||
      this.#inflightBytes >= limits.inflightBytesMax;
  }

  /**
   * Whether AppendEntries sent in Replicate state await an answer: that answer gives the
   * leader its next chance to tell the follower about a new commit index.
   */
  hasInflight(): boolean {
    return this.#inflight.length > 0;
  }

  /** Records a sent AppendEntries ending at `lastIndex` carrying `bytes` payload bytes. */
  sent(lastIndex: number, bytes: number): void {
    if (this.state === "probe") {
      this.probeSent = true;
      return;
    }
    this.next = lastIndex + 1;
    this.#inflight.push({ lastIndex, bytes });
    this.#inflightBytes += bytes;
  }

  /**
   * A heartbeat answer while the pipeline is full: free the oldest slot so one more message
   * goes out. If earlier messages were lost, that message exposes the gap and the follower's
   * rejection sends us back to probing.
   */
  freeOldest(): void {
    this.probeSent = false;
    const oldest = this.#inflight.shift();
    if (oldest !== undefined) this.#inflightBytes -= oldest.bytes;
  }

  /** The follower holds everything up to `index`; returns whether that is news. */
  acknowledge(index: number): boolean {
    this.probeSent = false;
    this.#freeThrough(index);
    if (index <= this.match) return false;
    this.match = index;
    this.next = Math.max(this.next, index + 1);
    if (this.state === "probe") this.becomeReplicate();
    return true;
  }

  /**
   * The follower rejected prevIndex `rejected`; `hintNext` is where the conflict hints say to
   * resume. Returns false when the rejection is stale (an answer to an older message).
   */
  reject(rejected: number, hintNext: number): boolean {
    if (this.state === "replicate") {
      if (rejected <= this.match) return false;
      this.becomeProbe();
    } else if (rejected !== this.next - 1) {
      return false;
    }
    this.next = Math.max(Math.min(hintNext, rejected), this.match + 1);
    this.probeSent = false;
    return true;
  }

  /** Back to one-at-a-time sending from `match + 1` (after a rejection or a lost follower). */
  becomeProbe(): void {
    this.state = "probe";
    this.probeSent = false;
    this.next = this.match + 1;
    this.#clearInflight();
  }

  /** Start pipelining from `match + 1`. */
  becomeReplicate(): void {
    this.state = "replicate";
    this.next = this.match + 1;
    this.#clearInflight();
  }

  #freeThrough(index: number): void {
    while (this.#inflight.length > 0 && (this.#inflight[0]?.lastIndex ?? Infinity) <= index) {
      this.#inflightBytes -= this.#inflight.shift()?.bytes ?? 0;
    }
  }

  #clearInflight(): void {
    this.#inflight.length = 0;
    this.#inflightBytes = 0;
  }
}
