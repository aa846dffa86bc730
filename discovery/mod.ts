/**
 * Cluster membership by SWIM gossip (serf-style): who is alive, who left, who failed, and
 * each member's tags. A pure protocol core ({@linkcode Membership}) driven by a thin
 * UDP/TCP driver ({@linkcode GossipNode}); packets and streams are sealed with AES-256-GCM
 * under a shared {@linkcode Keyring}. `discovery/` knows nothing of Raft: it reports
 * events to a {@linkcode Handler}.
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
export { generateGossipKey, Keyring, parseGossipKey } from "./_keyring.ts";
export { GossipNode, type GossipNodeOptions, type GossipStats } from "./_driver.ts";
