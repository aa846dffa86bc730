/**
 * The book's picker: produces go to the leader, consumes are spread round-robin over the
 * followers (the leader when no follower is ready), anything else goes to any ready member.
 * @module
 */
import { connectivityState, experimental, type Metadata, status } from "@grpc/grpc-js";
import { METHOD_KEY } from "./_resolver.ts";

/** Methods that append: the leader's work. */
const WRITE_METHODS = new Set(["/log.v1.Log/Produce", "/log.v1.Log/ProduceStream"]);
/** Methods that read: spread over the followers. */
const READ_METHODS = new Set(["/log.v1.Log/Consume", "/log.v1.Log/ConsumeStream"]);

/** Where a call of `method` should go: "leader", "follower" or "any". */
export function routeOf(method: string): "leader" | "follower" | "any" {
  if (WRITE_METHODS.has(method)) return "leader";
  if (READ_METHODS.has(method)) return "follower";
  return "any";
}

/** One member's connection as the picker sees it. */
export interface PickChild {
  readonly addr: string;
  readonly isLeader: boolean;
  readonly state: connectivityState;
  readonly picker: experimental.Picker;
}

/** Round-robin position shared by successive pickers of one balancer. */
export interface Cursor {
  next: number;
}

/** Told when a call ended with `code` (the balancer reacts to UNAVAILABLE and leader hints). */
export type CallEndedListener = (code: status, metadata: Metadata) => void;

const READY = connectivityState.READY;

function roundRobin(children: PickChild[], cursor: Cursor): PickChild | null {
  if (children.length === 0) return null;
  const child = children[cursor.next % children.length]!;
  cursor.next = (cursor.next + 1) % 1_000_000_007;
  return child;
}

/**
 * The member for a call of `method`, or null when none is ready. A produce goes to the ready
 * leader; when the leader is known but not connected yet it waits ("queue"); when the leader is
 * unknown or unreachable it goes to any ready member, which forwards it (or answers
 * UNAVAILABLE naming the leader, which the balancer then learns).
 */
export function chooseChild(
  method: string,
  children: readonly PickChild[],
  cursor: Cursor,
): PickChild | "queue" | null {
  const ready = children.filter((child) => child.state === READY);
  const leader = children.find((child) => child.isLeader);
  const route = routeOf(method);
  if (route === "leader" && leader !== undefined) {
    if (leader.state === READY) return leader;
    const connecting = leader.state === connectivityState.CONNECTING ||
      leader.state === connectivityState.IDLE;
    if (connecting) return "queue";
  }
  if (route === "follower") {
    const followers = ready.filter((child) => !child.isLeader);
    if (followers.length > 0) return roundRobin(followers, cursor);
    if (leader?.state === READY) return leader;
  }
  return roundRobin(ready, cursor);
}

const queued: experimental.PickResult = {
  pickResultType: experimental.PickResultType.QUEUE,
  subchannel: null,
  status: null,
  onCallStarted: null,
  onCallEnded: null,
};

/** A picker over a snapshot of the balancer's children. */
export class StrandPicker implements experimental.Picker {
  readonly #children: readonly PickChild[];
  readonly #cursor: Cursor;
  readonly #onCallEnded: CallEndedListener;
  readonly #onLeaderUnreachable: () => void;

  constructor(
    children: readonly PickChild[],
    cursor: Cursor,
    onCallEnded: CallEndedListener,
    onLeaderUnreachable: () => void = () => {},
  ) {
    this.#children = children;
    this.#cursor = cursor;
    this.#onCallEnded = onCallEnded;
    this.#onLeaderUnreachable = onLeaderUnreachable;
  }

  pick(args: experimental.PickArgs): experimental.PickResult {
    const method = args.extraPickInfo[METHOD_KEY] ?? "";
    const chosen = chooseChild(method, this.#children, this.#cursor);
    if (chosen === "queue") return queued;
    if (chosen === null) {
      const waiting = this.#children.some((child) =>
        child.state === connectivityState.CONNECTING || child.state === connectivityState.IDLE
      );
      if (waiting) return queued;
      return new experimental.UnavailablePicker({
        code: status.UNAVAILABLE,
        details: `No connection established to any server (${
          this.#children.map((child) => child.addr).join(", ") || "none known"
        })`,
      }).pick(args);
    }
    // A write that cannot go to the leader: who leads may have changed; ask (rate-limited).
    if (routeOf(method) === "leader" && !chosen.isLeader) this.#onLeaderUnreachable();
    const result = chosen.picker.pick(args);
    if (result.pickResultType !== experimental.PickResultType.COMPLETE) return result;
    const inner = result.onCallEnded;
    return {
      ...result,
      onCallEnded: (code, details, metadata) => {
        inner?.(code, details, metadata);
        this.#onCallEnded(code, metadata);
      },
    };
  }
}
