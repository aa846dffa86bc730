/**
 * Cluster membership by SWIM gossip (serf-style): who is alive, who left, who failed, and
 * each member's tags. A pure protocol core ({@linkcode Membership}) driven by a thin
 * UDP/TCP driver ({@linkcode GossipNode}); packets and streams are sealed with AES-256-GCM
 * under a shared {@linkcode Keyring} (or sent in plaintext with `keyring: null`, for
 * `--insecure-gossip`). `discovery/` knows nothing of Raft: it reports events to a
 * {@linkcode Handler}.
 *
 * What a cluster layer relies on:
 * - `GossipNode.start(options)` binds UDP and TCP on one port; `join(seeds)` resolves with
 *   how many seeds answered, rejects with `JOIN_FAILED` when none did (each within
 *   `pushPullTimeoutMs`) and with `NAME_CONFLICT` when a seed holds another live member
 *   under this node's name (the message names both addresses; retry once the old instance
 *   is declared failed, or pick another name). A restart at the same address is always
 *   admitted; a restart at a new address is admitted once the old instance failed or left.
 * - Events, in order, from a bounded queue: `join` when a member becomes live (first seen,
 *   or back after `fail`/`leave`, possibly at a new address: take `member.address` and
 *   `member.tags` from the event), `update` when a live member's tags change, `leave` and
 *   `fail`. A live member's address never changes without a `fail`/`leave` then `join`.
 * - `stats` (transport: refused connections, timeouts, accept errors, auth failures) and
 *   `protocolStats` (probes, suspicions, refutations, name conflicts, stale alives).
 * - Key rotation through `node.keyring`: `install(new)` everywhere, `use(new)` everywhere,
 *   `remove(old)`; or reload a key file with `parseGossipKeyFile` and `keyring.setKeys`.
 *
 * @example
 * ```ts
 * const keyring = await Keyring.create(parseGossipKey(Deno.env.get("GOSSIP_KEY") ?? ""));
 * const node = await GossipNode.start({
 *   name: "node-1",
 *   bindAddress: "127.0.0.1:7946",
 *   keyring,
 *   tags: { rpcAddress: "127.0.0.1:8400" },
 *   handler: { onEvent: (event) => console.log(event.type, event.member.name) },
 * });
 * await node.join(["127.0.0.1:7947"]);
 * ```
 * @module
 */

export type {
  AckMessage,
  AliveMessage,
  DeadMessage,
  Handler,
  MembershipEvent,
  MembershipEventType,
  MemberState,
  MemberStatus,
  Message,
  NackMessage,
  Packet,
  PingMessage,
  PingReqMessage,
  PushPullRequest,
  Random,
  Ready,
  StateMessage,
  SuspectMessage,
  Tags,
} from "./_types.ts";
export {
  defaultConfig,
  failureDetectionBoundMs,
  type MembershipConfig,
  pushPullIntervalMs,
  retransmitLimit,
  suspicionTimeoutsMs,
} from "./_config.ts";
export {
  Membership,
  type MembershipOptions,
  type MembershipStats,
  type NodeStatus,
} from "./_membership.ts";
export {
  decodePacket,
  decodePushPull,
  encodePacket,
  encodePushPull,
  messageSizeBytes,
  pushPullBytesMax,
  type PushPullPayload,
  sealOverheadBytes,
} from "./_codec.ts";
export { DiscoveryError, type DiscoveryErrorCode } from "./_errors.ts";
export { generateGossipKey, Keyring, parseGossipKey, parseGossipKeyFile } from "./_keyring.ts";
export { GossipNode, type GossipNodeOptions, type GossipStats } from "./_driver.ts";
