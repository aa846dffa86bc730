/**
 * Shared vocabulary of the membership core, its codec and its driver.
 * @module
 */

/** Small key/value metadata of a member (for example its RPC address). */
export type Tags = Readonly<Record<string, string>>;

/**
 * What a member believes about another member. `left` is a graceful departure, `dead` a
 * detected failure; both are kept (as tombstones) for a while before being reaped.
 */
export type MemberStatus = "alive" | "suspect" | "dead" | "left";

/** A read-only view of one member, as a node currently sees it. */
export interface MemberState {
  /** Member name, unique in the cluster. */
  readonly name: string;
  /** Gossip address, `host:port` (UDP and TCP share the port). */
  readonly address: string;
  /** Raised by the member itself to refute suspicion or to publish new tags. */
  readonly incarnation: number;
  /** What this node believes about the member. */
  readonly status: MemberStatus;
  /** The member's metadata. */
  readonly tags: Tags;
}

/** The narrow randomness the core needs; a seeded generator in simulation, crypto in production. */
export interface Random {
  /** An integer in [0, maxExclusive). */
  intBelow(maxExclusive: number): number;
  /** A float in [0, 1). */
  next(): number;
}

/** Direct probe: "are you `target`? answer with ack `seq`". */
export interface PingMessage {
  /** Message kind. */
  readonly type: "ping";
  /** Sequence number pairing a probe with its ack or nack. */
  readonly seq: number;
  /** Name of the member being probed. */
  readonly target: string;
  /** Name of the prober. */
  readonly source: string;
}

/** Indirect probe request: "please ping `target` for me and forward its ack". */
export interface PingReqMessage {
  /** Message kind. */
  readonly type: "pingReq";
  /** Sequence number pairing a probe with its ack or nack. */
  readonly seq: number;
  /** Name of the member being probed. */
  readonly target: string;
  /** Where the probed member is reached. */
  readonly targetAddress: string;
}

/** Positive answer to a ping (or a forwarded one for a ping-req). */
export interface AckMessage {
  /** Message kind. */
  readonly type: "ack";
  /** Sequence number pairing a probe with its ack or nack. */
  readonly seq: number;
}

/**
 * Sent by an indirect prober whose own ping got no answer in time: it tells the requester
 * "I am alive and working, the target did not answer", which feeds Lifeguard's self-awareness.
 */
export interface NackMessage {
  /** Message kind. */
  readonly type: "nack";
  /** Sequence number pairing a probe with its ack or nack. */
  readonly seq: number;
}

/** A member is alive at `incarnation` with this address and these tags. */
export interface AliveMessage {
  /** Message kind. */
  readonly type: "alive";
  /** Member name, unique in the cluster. */
  readonly name: string;
  /** Gossip address, `host:port`. */
  readonly address: string;
  /** The member's incarnation this claim is about (only the member raises it). */
  readonly incarnation: number;
  /** The member's metadata. */
  readonly tags: Tags;
}

/** `from` suspects `name` at `incarnation`. */
export interface SuspectMessage {
  /** Message kind. */
  readonly type: "suspect";
  /** Member name, unique in the cluster. */
  readonly name: string;
  /** The member's incarnation this claim is about (only the member raises it). */
  readonly incarnation: number;
  /** Name of the member making the claim. */
  readonly from: string;
}

/** `from` declares `name` dead at `incarnation`; `from === name` means a graceful leave. */
export interface DeadMessage {
  /** Message kind. */
  readonly type: "dead";
  /** Member name, unique in the cluster. */
  readonly name: string;
  /** The member's incarnation this claim is about (only the member raises it). */
  readonly incarnation: number;
  /** Name of the member making the claim. */
  readonly from: string;
}

/** Everything that travels in a UDP packet. */
export type Message =
  | PingMessage
  | PingReqMessage
  | AckMessage
  | NackMessage
  | AliveMessage
  | SuspectMessage
  | DeadMessage;

/** A state change about a member that is gossiped (piggybacked) through the cluster. */
export type StateMessage = AliveMessage | SuspectMessage | DeadMessage;

/** One compound UDP packet the driver must send; `sizeBytes` is its encoded (plaintext) size. */
export interface Packet {
  /** Destination address, `host:port`. */
  readonly to: string;
  /** The compound packet's messages, in order. */
  readonly messages: readonly Message[];
  /** Encoded plaintext size; sealing adds `sealOverheadBytes`. */
  readonly sizeBytes: number;
}

/**
 * A push/pull full-state exchange the driver must run over TCP: send this node's
 * `localState()` to `to`, hand the reply to `mergeRemoteState`.
 */
export interface PushPullRequest {
  /** Destination address, `host:port`. */
  readonly to: string;
  /** True when this node is joining through `to`. */
  readonly join: boolean;
}

/** Kinds of membership events reported to a handler. */
export type MembershipEventType = "join" | "leave" | "fail" | "update";

/** A membership change observed by this node. */
export interface MembershipEvent {
  /** Message kind. */
  readonly type: MembershipEventType;
  /** The member's state after the change. */
  readonly member: MemberState;
  /** Time (the core's clock) at which this node observed the change. */
  readonly atMs: number;
}

/** Everything the core wants done after an input: the driver sends, exchanges and reports. */
export interface Ready {
  /** UDP packets to send. */
  readonly packets: Packet[];
  /** Full-state exchanges to run over TCP. */
  readonly pushPulls: PushPullRequest[];
  /** Membership events for the handler. */
  readonly events: MembershipEvent[];
}

/**
 * Receives membership events. The driver calls it from a bounded queue, outside the
 * protocol's path, so a slow handler can never delay probes or acks.
 */
export interface Handler {
  /** Called once per event, in order; may return a promise (the next event waits for it). */
  onEvent(event: MembershipEvent): void | Promise<void>;
}
