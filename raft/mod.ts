/**
 * Consensus for Strand: a pure Raft core (no IO, no clock) over the commit log, with
 * pre-vote, check-quorum, pipelined replication, single-server membership changes, learners,
 * leadership transfer and ReadIndex reads.
 *
 * Wiring a node (what the agent does): pass `durability: "none"` to {@linkcode RaftNode}
 * when the log does not fsync each append (it warns and reports it in `status()`), and
 * `entryBytesMax` = the log's batch limit (refused if an entry could not fit a peer frame);
 * wire `PeerTransport`'s `onDrop` to {@linkcode RaftNode.reportUnreachable}; pass the node a
 * TLS certificate names to `PeerTransport.accept(stream, { peerName })`; export
 * `RaftNode.stats()` and `PeerTransport.stats()` as metrics. A proposal rejected with
 * `UNKNOWN_OUTCOME` was appended and may still commit. Peer frames carry CRC-32 checksums of
 * their header and body (wire version 4: not compatible with earlier versions).
 *
 * @example
 * ```ts
 * import { RaftCore } from "./raft/mod.ts";
 * const core = new RaftCore({ id: "a", store, random, persisted: null, bootstrap: { voters: ["a"], learners: [] } });
 * ```
 * @module
 */

export { RaftCore } from "./_leader.ts";
export { type ConfigRecord, RaftError, type RaftErrorCode } from "./_membership.ts";
export {
  type AppendRequest,
  type AppendResponse,
  type ConfigChange,
  type Heartbeat,
  type HeartbeatResponse,
  type InstallSnapshot,
  type Membership,
  type Message,
  MessageType,
  type NodeId,
  type ReadIndexRequest,
  type ReadIndexResponse,
  type TimeoutNow,
  type VoteRequest,
  type VoteResponse,
} from "./_messages.ts";
export {
  decodePersistentState,
  encodePersistentState,
  type PersistentState,
  type Proposal,
  type RaftOptions,
  type RaftRandom,
  type RaftStatus,
  type ReadState,
  type Ready,
  type RestartPoint,
  type Role,
} from "./_options.ts";
export type { PersistWork } from "./_raft_log.ts";
export {
  CodecError,
  decodeBody,
  decodeFrame,
  encodeFrame,
  FRAME_BYTES_MAX,
  FRAME_OVERHEAD_BYTES,
  FrameSplitter,
} from "./_codec.ts";
export {
  type Committed,
  DEFAULT_TICK_MS,
  type Durability,
  ENTRY_BYTES_MAX,
  RaftNode,
  type RaftNodeOptions,
  type RaftNodeStats,
  type RaftTimers,
  realTimers,
} from "./_driver.ts";
export {
  type AcceptOptions,
  consoleLogger,
  dialTcp,
  type PeerStream,
  PeerTransport,
  type PeerTransportOptions,
  type RaftLogger,
  type TransportStats,
} from "./_transport.ts";
export { dialTls, streamFromSocket } from "./_tls.ts";
