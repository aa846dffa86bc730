/**
 * SWIM failure detection for one node: one probe at a time (ping, then ping-req through
 * `indirectChecks` helpers, then report a failure), the relaying of other nodes' indirect
 * probes (with Lifeguard nacks), and the self-awareness score that stretches this node's
 * probe interval and timeout when its own probes fail without the helpers' nacks.
 * @module
 */

import type { MembershipConfig } from "./_config.ts";
import type { MemberRecord, MemberTable } from "./_member_table.ts";
import { isLive } from "./_member_table.ts";
import type { Message } from "./_types.ts";

/** What the prober needs from the core that owns it. */
export interface ProbeHost {
  readonly config: MembershipConfig;
  readonly table: MemberTable;
  /** Sends `messages` (plus piggybacked gossip) to `to`. */
  send(to: string, messages: Message[]): void;
  /** Our probe of `target` got no ack at all: suspect it. */
  probeFailed(nowMs: number, target: MemberRecord): void;
}

/** Counters of probing. */
export interface ProbeStats {
  probes: number;
  probesFailed: number;
}

interface Probe {
  readonly target: string;
  readonly seq: number;
  readonly indirectAtMs: number;
  readonly deadlineMs: number;
  indirectSent: boolean;
  expectedNacks: number;
  nacks: number;
}

/** A ping-req we relay: its ack goes back to `requester` under `requesterSeq`. */
interface Forward {
  readonly requester: string;
  readonly requesterSeq: number;
  readonly nackAtMs: number;
  readonly expiresMs: number;
  nackSent: boolean;
}

const forwardsMax = 1024;

/** Probe scheduling, indirect probing and self-awareness. */
export class Prober {
  readonly stats: ProbeStats = { probes: 0, probesFailed: 0 };
  readonly #host: ProbeHost;
  #probe: Probe | null = null;
  #nextProbeMs: number;
  #seq = 0;
  readonly #forwards = new Map<number, Forward>();
  #awareness = 0;

  constructor(host: ProbeHost, firstProbeMs: number) {
    this.#host = host;
    this.#nextProbeMs = firstProbeMs;
  }

  /** Lifeguard self-awareness score: 0 is healthy; timeouts are stretched by score + 1. */
  get awareness(): number {
    return this.#awareness;
  }

  /** Raises (or, with a negative delta, lowers) the awareness score within its bounds. */
  adjustAwareness(delta: number): void {
    const max = this.#host.config.awarenessMax - 1;
    this.#awareness = Math.max(0, Math.min(max, this.#awareness + delta));
  }

  /** Abandons the probe in flight (the node is leaving). */
  stop(): void {
    this.#probe = null;
  }

  /** Advances the probe in flight, or starts the next one when due. */
  tick(nowMs: number): void {
    const probe = this.#probe;
    if (probe === null) {
      if (nowMs >= this.#nextProbeMs) this.#start(nowMs);
      return;
    }
    if (!probe.indirectSent && nowMs >= probe.indirectAtMs) this.#sendIndirect(probe);
    if (nowMs >= probe.deadlineMs) this.#fail(nowMs, probe);
  }

  /** Sends nacks for relayed probes still unanswered, and forgets expired ones. */
  tickForwards(nowMs: number): void {
    if (this.#forwards.size === 0) return;
    for (const [seq, forward] of this.#forwards) {
      if (!forward.nackSent && nowMs >= forward.nackAtMs) {
        forward.nackSent = true;
        this.#host.send(forward.requester, [{ type: "nack", seq: forward.requesterSeq }]);
      }
      if (nowMs >= forward.expiresMs) this.#forwards.delete(seq);
    }
  }

  /** An ack: ends our probe, or is relayed to whoever asked us to probe. */
  onAck(seq: number): void {
    if (this.#probe !== null && this.#probe.seq === seq) {
      this.#probe = null;
      this.adjustAwareness(-1);
      return;
    }
    const forward = this.#forwards.get(seq);
    if (forward === undefined) return;
    this.#forwards.delete(seq);
    this.#host.send(forward.requester, [{ type: "ack", seq: forward.requesterSeq }]);
  }

  onNack(seq: number): void {
    if (this.#probe !== null && this.#probe.seq === seq) this.#probe.nacks++;
  }

  /** Probes `target` at `address` on behalf of `from`. */
  relay(nowMs: number, from: string, request: { seq: number; target: string; address: string }) {
    if (this.#forwards.size >= forwardsMax) return;
    const { config } = this.#host;
    const localSeq = this.#nextSeq();
    this.#forwards.set(localSeq, {
      requester: from,
      requesterSeq: request.seq,
      // Half the probe timeout: the nack must reach the requester before its probe
      // deadline (ping-req is sent a probe timeout into a probe interval) to count.
      nackAtMs: nowMs + Math.floor(config.probeTimeoutMs / 2),
      expiresMs: nowMs + config.probeIntervalMs,
      nackSent: false,
    });
    const source = this.#host.table.self.name;
    this.#host.send(request.address, [{
      type: "ping",
      seq: localSeq,
      target: request.target,
      source,
    }]);
  }

  #start(nowMs: number): void {
    const { config, table } = this.#host;
    const scale = this.#awareness + 1;
    this.#nextProbeMs = nowMs + config.probeIntervalMs * scale;
    const target = table.nextProbeTarget();
    if (target === undefined) return;
    const seq = this.#nextSeq();
    this.stats.probes++;
    this.#probe = {
      target: target.name,
      seq,
      indirectAtMs: nowMs + config.probeTimeoutMs * scale,
      deadlineMs: this.#nextProbeMs,
      indirectSent: false,
      expectedNacks: 0,
      nacks: 0,
    };
    const source = table.self.name;
    const messages: Message[] = [{ type: "ping", seq, target: target.name, source }];
    if (target.status === "suspect") {
      // Lifeguard's "buddy system": tell a suspect directly, so it can refute at once.
      const { name, incarnation } = target;
      messages.push({ type: "suspect", name, incarnation, from: source });
    }
    this.#host.send(target.address, messages);
  }

  #sendIndirect(probe: Probe): void {
    probe.indirectSent = true;
    const { config, table } = this.#host;
    const target = table.get(probe.target);
    if (target === undefined) return;
    const helpers = table.randomMembers(
      config.indirectChecks,
      (record) => record.status === "alive" && record !== target,
    );
    probe.expectedNacks = helpers.length;
    for (const helper of helpers) {
      this.#host.send(helper.address, [{
        type: "pingReq",
        seq: probe.seq,
        target: target.name,
        targetAddress: target.address,
      }]);
    }
  }

  #fail(nowMs: number, probe: Probe): void {
    this.#probe = null;
    this.stats.probesFailed++;
    // Missing nacks mean our own packets or process are slow, not (only) the target.
    const missing = probe.expectedNacks > 0 ? probe.expectedNacks - probe.nacks : 1;
    if (missing > 0) this.adjustAwareness(missing);
    const target = this.#host.table.get(probe.target);
    if (target !== undefined && isLive(target.status)) this.#host.probeFailed(nowMs, target);
  }

  #nextSeq(): number {
    this.#seq = (this.#seq + 1) >>> 0;
    return this.#seq;
  }
}
