/**
 * A simulated SWIM cluster: many `Membership` cores over a seeded network with loss, delay
 * (hence reordering), duplication, symmetric and one-way partitions, and crashes. Time is
 * simulated: the run advances in `tickMs` steps, delivering packets at their exact times.
 * Everything random comes from one seed, so a run replays exactly.
 */

import {
  encodePushPull,
  Membership,
  type MembershipConfig,
  type MembershipEvent,
  type MemberState,
  type Message,
  sealOverheadBytes,
  type Tags,
} from "../../../discovery/mod.ts";
import { SeededRandom } from "../random.ts";
import { TimeHeap } from "./heap.ts";

/** Faults of the simulated network. */
export interface NetworkOptions {
  /** Probability that one UDP packet is lost. */
  lossRate: number;
  delayMsMin: number;
  delayMsMax: number;
  /** Probability that one UDP packet is delivered twice. */
  duplicateRate: number;
}

/** One simulated process. A rejoin under the same name is a new `SimNode`. */
export interface SimNode {
  readonly name: string;
  readonly address: string;
  readonly core: Membership;
  readonly startedAtMs: number;
  crashedAtMs: number | null;
  leftAtMs: number | null;
  /** This node's clock reads `clockOffsetMs + clockRate · simulated time` (drift). */
  readonly clockOffsetMs: number;
  readonly clockRate: number;
  /** A stop-the-world pause (GC, overloaded host): no ticks, input waits until then. */
  pausedUntilMs: number;
  udpBytesSent: number;
  tcpBytesSent: number;
  /** Joins refused because a seed holds another live member under this name. */
  joinRefusals: number;
  /** When a join reply was first merged (null: not admitted yet). */
  joinedAtMs: number | null;
}

/** A membership event as observed by one node, at simulated time `atMs`. */
export interface ObservedEvent {
  readonly observer: SimNode;
  readonly event: MembershipEvent;
  /** Simulated time (the event's own `atMs` is the observer's drifting clock). */
  readonly atMs: number;
}

type PacketDelivery = {
  atMs: number;
  kind: "packet";
  from: string;
  to: string;
  messages: readonly Message[];
};
type Delivery =
  | PacketDelivery
  | {
    atMs: number;
    kind: "pushPull";
    from: string;
    to: string;
    states: MemberState[];
    join: boolean;
  }
  | { atMs: number; kind: "reply"; from: string; to: string; states: MemberState[]; join: boolean };

/** Most packets kept for a replay attack (the oldest are kept). */
const recordedPacketsMax = 200_000;

/** Options of {@linkcode SimCluster}. */
export interface SimClusterOptions {
  seed: number;
  network?: Partial<NetworkOptions>;
  config?: Partial<MembershipConfig>;
  /** Simulation step; every running node is ticked once per step. */
  tickMs?: number;
  /** Each node's clock runs at a rate drawn from [1 - max, 1 + max]; default 0.02. */
  clockDriftMax?: number;
}

const defaultNetwork: NetworkOptions = {
  lossRate: 0,
  delayMsMin: 1,
  delayMsMax: 10,
  duplicateRate: 0,
};

/** Deterministic in-memory cluster. */
export class SimCluster {
  readonly seed: number;
  readonly network: NetworkOptions;
  readonly config: Partial<MembershipConfig>;
  readonly tickMs: number;
  /** Latest instance per name. */
  readonly nodes = new Map<string, SimNode>();
  /** Every instance ever started, in start order. */
  readonly history: SimNode[] = [];
  readonly events: ObservedEvent[] = [];
  /** Delivered packets, kept while `recordPackets` is on (for replay attacks). */
  readonly recorded: PacketDelivery[] = [];
  recordPackets = false;
  nowMs = 0;
  readonly #byAddress = new Map<string, SimNode>();
  readonly #blocked = new Set<string>();
  readonly #queue = new TimeHeap<Delivery>();
  readonly #networkRandom: SeededRandom;
  readonly #nodeSeeds: SeededRandom;
  readonly #clocks: SeededRandom;
  readonly #clockDriftMax: number;
  #addressCount = 0;

  constructor(options: SimClusterOptions) {
    this.seed = options.seed;
    this.network = { ...defaultNetwork, ...options.network };
    this.config = options.config ?? {};
    this.tickMs = options.tickMs ?? 20;
    const root = new SeededRandom(options.seed);
    this.#networkRandom = root.fork();
    this.#nodeSeeds = root.fork();
    this.#clocks = root.fork();
    this.#clockDriftMax = options.clockDriftMax ?? 0.02;
  }

  /**
   * Starts a node: at a new address by default (a rescheduled pod gets a new IP), or at
   * `options.address` (a process restarted in place). `register: false` starts a second
   * process under a name that stays bound to the first (an impostor): it is in `history`
   * and reachable, but `nodes` and `running()` keep the first.
   */
  addNode(
    name: string,
    tags: Tags = {},
    options: { address?: string; register?: boolean } = {},
  ): SimNode {
    const index = ++this.#addressCount;
    const address = options.address ??
      `10.${(index >> 16) & 255}.${(index >> 8) & 255}.${index & 255}:7946`;
    // Clocks disagree on the time of day and drift apart; the core must only use durations.
    const clockOffsetMs = this.#clocks.intBelow(1_000_000_000);
    const clockRate = 1 + (this.#clocks.next() * 2 - 1) * this.#clockDriftMax;
    const core = new Membership({
      name,
      address,
      tags,
      config: this.config,
      random: this.#nodeSeeds.fork(),
      nowMs: clockOffsetMs + clockRate * this.nowMs,
    });
    const node: SimNode = {
      clockOffsetMs,
      clockRate,
      name,
      address,
      core,
      startedAtMs: this.nowMs,
      crashedAtMs: null,
      leftAtMs: null,
      pausedUntilMs: 0,
      udpBytesSent: 0,
      tcpBytesSent: 0,
      joinRefusals: 0,
      joinedAtMs: null,
    };
    if (options.register !== false) this.nodes.set(name, node);
    this.history.push(node);
    this.#byAddress.set(address, node);
    return node;
  }

  /** Gives every running node the full member list at once (a formed cluster). */
  bootstrap(): void {
    const states = this.running().flatMap((node) => node.core.localState());
    for (const node of this.running()) {
      node.core.mergeRemoteState(this.localNow(node), states);
      this.#drain(node);
    }
  }

  /** Nodes neither crashed nor left. */
  running(): SimNode[] {
    return [...this.nodes.values()].filter((node) =>
      node.crashedAtMs === null && node.leftAtMs === null
    );
  }

  join(name: string, seedNames: readonly string[]): void {
    this.joinNode(this.#node(name), seedNames);
  }

  /** Joins `node` (registered or not) through the named seeds. */
  joinNode(node: SimNode, seedNames: readonly string[]): void {
    const addresses = seedNames.map((seed) => this.#node(seed).address);
    node.core.join(addresses);
    this.#drain(node);
  }

  /** Delivers `packets` again, each to its original destination, spread over `spreadMs`. */
  replay(packets: readonly PacketDelivery[], spreadMs: number): void {
    for (const packet of packets) {
      const atMs = this.nowMs + this.#networkRandom.intBelow(spreadMs + 1);
      this.#queue.push({ ...packet, atMs });
    }
  }

  /** Freezes a node for `durationMs`: it neither ticks nor reads packets meanwhile. */
  pause(name: string, durationMs: number): void {
    const node = this.#node(name);
    node.pausedUntilMs = Math.max(node.pausedUntilMs, this.nowMs + durationMs);
  }

  crash(name: string): void {
    this.#node(name).crashedAtMs = this.nowMs;
  }

  leave(name: string): void {
    const node = this.#node(name);
    node.leftAtMs = this.nowMs;
    node.core.leave(this.localNow(node));
    this.#drain(node);
  }

  setTags(name: string, tags: Tags): void {
    const node = this.#node(name);
    node.core.setTags(this.localNow(node), tags);
    this.#drain(node);
  }

  /** Blocks traffic from every node of `from` to every node of `to` (and back unless one-way). */
  partition(from: readonly string[], to: readonly string[], oneWay = false): void {
    for (const a of from) {
      for (const b of to) {
        const x = this.#node(a).address;
        const y = this.#node(b).address;
        this.#blocked.add(`${x}>${y}`);
        if (!oneWay) this.#blocked.add(`${y}>${x}`);
      }
    }
  }

  heal(): void {
    this.#blocked.clear();
  }

  /** Runs until `untilMs`; `onStep` is called after each step and may stop the run early. */
  runUntil(untilMs: number, onStep?: () => boolean | void): void {
    const stepsMax = Math.ceil((untilMs - this.nowMs) / this.tickMs) + 1;
    for (let step = 0; step < stepsMax && this.nowMs < untilMs; step++) {
      const stepEndMs = Math.min(untilMs, this.nowMs + this.tickMs);
      while (this.#queue.peekMs() <= stepEndMs) {
        const delivery = this.#queue.pop() as Delivery;
        this.nowMs = Math.max(this.nowMs, delivery.atMs);
        this.#deliver(delivery);
      }
      this.nowMs = stepEndMs;
      // Every live process, impostors included (they are not in `nodes`).
      for (const node of this.history) {
        if (node.crashedAtMs !== null || node.pausedUntilMs > this.nowMs) continue;
        if (this.#byAddress.get(node.address) !== node) continue;
        node.core.tick(this.localNow(node));
        this.#drain(node);
      }
      if (onStep?.() === true) return;
    }
  }

  /** How `observer` currently sees the member called `name`. */
  viewOf(observer: SimNode, name: string): MemberState | undefined {
    return observer.core.members().find((member) => member.name === name);
  }

  /** `node`'s clock now (offset and drift applied). */
  localNow(node: SimNode): number {
    return node.clockOffsetMs + node.clockRate * this.nowMs;
  }

  #node(name: string): SimNode {
    const node = this.nodes.get(name);
    if (node === undefined) throw new Error(`no simulated node ${name}`);
    return node;
  }

  #isOpen(from: string, to: string): boolean {
    return !this.#blocked.has(`${from}>${to}`);
  }

  #target(address: string): SimNode | undefined {
    const node = this.#byAddress.get(address);
    return node === undefined || node.crashedAtMs !== null ? undefined : node;
  }

  #delayMs(): number {
    return this.#networkRandom.intBetween(this.network.delayMsMin, this.network.delayMsMax);
  }

  #deliver(delivery: Delivery): void {
    const node = this.#target(delivery.to);
    if (node === undefined) return;
    if (node.pausedUntilMs > this.nowMs) {
      // Input waits in the socket buffer until the pause ends, in arrival order.
      this.#queue.push({ ...delivery, atMs: node.pausedUntilMs });
      return;
    }
    if (delivery.kind === "packet") {
      if (this.recordPackets && this.recorded.length < recordedPacketsMax) {
        this.recorded.push(delivery);
      }
      node.core.receive(this.localNow(node), delivery.from, delivery.messages);
    } else if (delivery.kind === "pushPull") {
      const states = node.core.handlePushPull(this.localNow(node), delivery.states);
      node.tcpBytesSent += encodePushPull({ join: false, states }).length + sealOverheadBytes;
      // TCP: the reply needs the way back open too.
      if (this.#isOpen(delivery.to, delivery.from)) {
        const { join } = delivery;
        const atMs = this.nowMs + this.#delayMs();
        this.#queue.push({
          atMs,
          kind: "reply",
          from: delivery.to,
          to: delivery.from,
          states,
          join,
        });
      }
    } else if (delivery.join && node.core.nameConflict(delivery.states) !== null) {
      // As the driver does: a join reply showing our name live elsewhere is refused whole.
      node.joinRefusals++;
    } else {
      if (delivery.join) node.joinedAtMs ??= this.nowMs;
      node.core.mergeRemoteState(this.localNow(node), delivery.states);
    }
    this.#drain(node);
  }

  #drain(node: SimNode): void {
    const ready = node.core.takeReady();
    for (const packet of ready.packets) {
      node.udpBytesSent += packet.sizeBytes + sealOverheadBytes;
      this.#sendPacket(node.address, packet.to, packet.messages);
    }
    for (const request of ready.pushPulls) {
      const states = node.core.localState();
      node.tcpBytesSent += encodePushPull({ join: request.join, states }).length +
        sealOverheadBytes;
      // A TCP connection needs both directions; a refused one simply fails.
      if (!this.#isOpen(node.address, request.to) || !this.#isOpen(request.to, node.address)) {
        continue;
      }
      const atMs = this.nowMs + this.#delayMs();
      const { join } = request;
      this.#queue.push({
        atMs,
        kind: "pushPull",
        from: node.address,
        to: request.to,
        states,
        join,
      });
    }
    for (const event of ready.events) this.events.push({ observer: node, event, atMs: this.nowMs });
  }

  #sendPacket(from: string, to: string, messages: readonly Message[]): void {
    if (!this.#isOpen(from, to)) return;
    const random = this.#networkRandom;
    const copies = random.chance(this.network.duplicateRate) ? 2 : 1;
    for (let copy = 0; copy < copies; copy++) {
      if (random.chance(this.network.lossRate)) continue;
      this.#queue.push({ atMs: this.nowMs + this.#delayMs(), kind: "packet", from, to, messages });
    }
  }
}
