/**
 * Protocol settings with their defaults, and the figures derived from them (retransmit
 * limit, suspicion timeouts, the failure-detection bound the simulation checks).
 * @module
 */

/** Every tunable of the SWIM core. All durations are in milliseconds of the core's clock. */
export interface MembershipConfig {
  /** Time between two probe rounds (stretched by the self-awareness multiplier). */
  readonly probeIntervalMs: number;
  /** Wait for a direct ack before asking others for indirect probes (also stretched). */
  readonly probeTimeoutMs: number;
  /** Number of members asked to probe indirectly when a direct probe gets no ack. */
  readonly indirectChecks: number;
  /** Time between two gossip rounds that push pending state changes. */
  readonly gossipIntervalMs: number;
  /** Members gossiped to per gossip round. */
  readonly gossipNodes: number;
  /** Keep gossiping to a dead member for this long, so it can learn it must refute. */
  readonly gossipToTheDeadMs: number;
  /** A state change is retransmitted `retransmitMult * ceil(log10(n + 1))` times. */
  readonly retransmitMult: number;
  /** Minimum suspicion timeout is `suspicionMult * max(1, log10(n)) * probeIntervalMs`. */
  readonly suspicionMult: number;
  /** Maximum suspicion timeout (no confirmation yet) is this multiple of the minimum. */
  readonly suspicionMaxTimeoutMult: number;
  /** Self-awareness (Lifeguard) score ceiling; timeouts are stretched by `score + 1`. */
  readonly awarenessMax: number;
  /**
   * Time between two periodic full-state exchanges with a random live member, for up to 32
   * members (see `pushPullIntervalMs()` for larger clusters).
   */
  readonly pushPullIntervalMs: number;
  /** Time between two attempts to reconnect to a failed member (heals partitions). */
  readonly reconnectIntervalMs: number;
  /** A failed member is retried this long, then reaped from the member list. */
  readonly reconnectTimeoutMs: number;
  /** A member that left is remembered this long (so late gossip cannot revive it). */
  readonly tombstoneTimeoutMs: number;
  /** Time between two scans for members to reap. */
  readonly reapIntervalMs: number;
  /** A leaving node keeps answering until its leave was fully gossiped, at most this long. */
  readonly leavePropagateMsMax: number;
  /** Largest encrypted UDP packet; stays under common MTUs (1500) minus IP/UDP headers. */
  readonly packetBytesMax: number;
  /** Bound on queued state changes waiting to be gossiped. */
  readonly broadcastsMax: number;
  /** Bound on the encoded size of a member's tags. */
  readonly tagsBytesMax: number;
  /**
   * Most members a node keeps, tombstones included (a full table evicts its oldest
   * tombstone, else refuses the newcomer). With `tagsBytesMax` it bounds a push/pull frame,
   * which is what an unauthenticated peer may make a node buffer (`pushPullBytesMax`).
   * Every member of a cluster must use the same value.
   */
  readonly membersMax: number;
}

/**
 * Defaults for a LAN/datacenter cluster. Tighter than memberlist's LAN preset (probe
 * every 400 ms, suspicion multiplier 3) so a 100-member cluster detects a failure in
 * under 5 s, yet without false positives at 10% packet loss (checked in simulation).
 */
export const defaultConfig: MembershipConfig = {
  probeIntervalMs: 400,
  probeTimeoutMs: 200,
  indirectChecks: 3,
  gossipIntervalMs: 100,
  gossipNodes: 3,
  gossipToTheDeadMs: 10_000,
  retransmitMult: 6,
  suspicionMult: 3,
  suspicionMaxTimeoutMult: 4,
  awarenessMax: 8,
  pushPullIntervalMs: 30_000,
  reconnectIntervalMs: 10_000,
  reconnectTimeoutMs: 3_600_000,
  tombstoneTimeoutMs: 3_600_000,
  reapIntervalMs: 5_000,
  leavePropagateMsMax: 5_000,
  packetBytesMax: 1400,
  broadcastsMax: 1024,
  tagsBytesMax: 512,
  membersMax: 1024,
};

/** How many times a state change is piggybacked before it is dropped from the queue. */
export function retransmitLimit(config: MembershipConfig, memberCount: number): number {
  return config.retransmitMult * Math.ceil(Math.log10(memberCount + 1));
}

/** Suspicion timeout bounds for a cluster of `memberCount` live members. */
export function suspicionTimeoutsMs(
  config: MembershipConfig,
  memberCount: number,
): { minMs: number; maxMs: number } {
  const scale = Math.max(1, Math.log10(Math.max(1, memberCount)));
  const minMs = Math.round(config.suspicionMult * scale * config.probeIntervalMs);
  return { minMs, maxMs: minMs * config.suspicionMaxTimeoutMult };
}

/** Clusters up to this size push/pull at the configured interval; larger ones less often. */
const pushPullScaleThreshold = 32;

/**
 * The push/pull interval for `memberCount` members: full-state exchanges cost O(n) bytes
 * each, so above 32 members the interval grows with log2(n) (as in memberlist), keeping
 * their share of the traffic flat.
 */
export function pushPullIntervalMs(config: MembershipConfig, memberCount: number): number {
  if (memberCount <= pushPullScaleThreshold) return config.pushPullIntervalMs;
  const multiplier = Math.ceil(Math.log2(memberCount) - Math.log2(pushPullScaleThreshold)) + 1;
  return multiplier * config.pushPullIntervalMs;
}

/**
 * The bound within which every live member declares a crashed member failed, in a
 * connected cluster of `memberCount` members at packet loss up to 10%:
 *
 *   suspicionMax(n) + (4 + 2·⌈log2 n⌉) · probeInterval
 *
 * The first term is the longest a suspicion can last (no confirmation at all); the
 * second covers the first failed probe (someone among n probers reaches the dead member
 * within a few intervals w.h.p.) and the epidemic spread of `suspect` then `dead`, each
 * taking O(log n) gossip rounds. Both terms grow with log n.
 */
export function failureDetectionBoundMs(config: MembershipConfig, memberCount: number): number {
  const { maxMs } = suspicionTimeoutsMs(config, memberCount);
  const spreadRounds = 4 + 2 * Math.ceil(Math.log2(Math.max(2, memberCount)));
  return maxMs + spreadRounds * config.probeIntervalMs;
}
