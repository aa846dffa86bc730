/**
 * The driver: runs a {@linkcode Membership} core over real UDP (node:dgram) and TCP with
 * real timers. It owns every side effect: the clock, sockets, AES-GCM sealing, and
 * delivering events to the handler off the protocol's path.
 *
 * Stream (push/pull) connections are bounded in every dimension: each exchange has one
 * deadline covering connect, write and read; a frame is at most `pushPullBytesMax` and is
 * buffered as it arrives; at most `streamConnectionsMax` inbound connections hold a
 * descriptor at once (more are closed on accept) and at most `pushPullsInFlightMax`
 * outbound exchanges run at once (more are skipped); the accept loop survives errors
 * (EMFILE) with a backoff. Every refusal is counted in `stats` and logged.
 * @module
 */

import dgram from "node:dgram";
import type { Buffer } from "node:buffer";
import type { MembershipConfig } from "./_config.ts";
import {
  decodePacket,
  decodePushPull,
  encodePacket,
  encodePushPull,
  pushPullBytesMax,
} from "./_codec.ts";
import { DiscoveryError } from "./_errors.ts";
import type { Keyring } from "./_keyring.ts";
import { Membership, type MembershipStats } from "./_membership.ts";
import { type Exchange, exchangeFrame, ServerStream } from "./_stream.ts";
import type { Handler, MembershipEvent, MemberState, Random, Tags } from "./_types.ts";

/** Options of {@linkcode GossipNode.start}. */
export interface GossipNodeOptions {
  /** Unique member name. */
  readonly name: string;
  /** `host:port` to bind UDP and TCP to; port 0 picks a free port. */
  readonly bindAddress: string;
  /** Address announced to others; defaults to the bound address (required for 0.0.0.0). */
  readonly advertiseAddress?: string;
  /**
   * Keys that seal and open every packet and stream. `null` runs gossip in plaintext
   * (`--insecure-gossip`): anyone who reaches the port can join or forge membership.
   */
  readonly keyring: Keyring | null;
  /** The member's metadata. */
  readonly tags?: Tags;
  /** Receives membership events (optional). */
  readonly handler?: Handler;
  /** Protocol settings overriding `defaultConfig`. */
  readonly config?: Partial<MembershipConfig>;
  /** Timer resolution of the protocol; default 10 ms. */
  readonly tickMs?: number;
  /** Events waiting for a slow handler beyond this are dropped (and counted). */
  readonly eventQueueMax?: number;
  /** Deadline of one push/pull exchange, connect to reply (both sides); default 5 s. */
  readonly pushPullTimeoutMs?: number;
  /** Inbound stream connections holding a descriptor at once; default 32. */
  readonly streamConnectionsMax?: number;
  /** Outbound push/pull exchanges at once (joins excepted); default 8. */
  readonly pushPullsInFlightMax?: number;
  /** Receives warnings (refused connections, accept errors); default `console.warn`. */
  readonly warn?: (message: string) => void;
}

/** Transport counters. */
export interface GossipStats {
  /** UDP packets sent. */
  packetsSent: number;
  /** UDP packets received (before authentication). */
  packetsReceived: number;
  /** Sealed UDP bytes sent. */
  bytesSent: number;
  /** Sealed UDP bytes received. */
  bytesReceived: number;
  /** Packets and streams dropped because no key authenticated them. */
  authFailures: number;
  /** Authenticated packets that did not decode. */
  malformed: number;
  /** Push/pull exchanges answered. */
  pushPullsServed: number;
  /** Push/pull exchanges that failed (either side). */
  pushPullsFailed: number;
  /** Push/pull exchanges (either side) ended by their deadline. */
  pushPullsTimedOut: number;
  /** Periodic push/pulls skipped because `pushPullsInFlightMax` were running. */
  pushPullsSkipped: number;
  /** Inbound stream connections closed on accept because `streamConnectionsMax` were open. */
  connectionsRefused: number;
  /** Inbound streams refused because they declared a frame over `pushPullBytesMax`. */
  framesTooLarge: number;
  /** Errors of the accept loop (for example EMFILE); the loop backs off and goes on. */
  acceptErrors: number;
  /** Events dropped because the handler queue was full. */
  eventsDropped: number;
  /** Events whose handler threw or rejected. */
  handlerErrors: number;
  /** UDP socket errors (for example ICMP port unreachable), treated as packet loss. */
  socketErrors: number;
}

const bindAttemptsMax = 8;
const acceptBackoffMsMin = 10;
const acceptBackoffMsMax = 1_000;
/** At most one warning of a kind per this interval, so a flood cannot flood the log. */
const warnIntervalMs = 10_000;

/** Randomness for production: crypto-seeded, never replayable. */
const cryptoRandom: Random = {
  next(): number {
    return crypto.getRandomValues(new Uint32Array(1))[0] as number / 0x1_0000_0000;
  },
  intBelow(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
  },
};

/** What seals and opens packets: a keyring, or plaintext with a version byte of 0. */
interface Sealer {
  seal(plaintext: Uint8Array): Promise<Uint8Array>;
  open(sealed: Uint8Array): Promise<Uint8Array | null>;
}

const plaintextSealer: Sealer = {
  seal(plaintext) {
    const bytes = new Uint8Array(1 + plaintext.length);
    bytes.set(plaintext, 1);
    return Promise.resolve(bytes);
  },
  open(sealed) {
    return Promise.resolve(sealed.length >= 1 && sealed[0] === 0 ? sealed.slice(1) : null);
  },
};

function splitAddress(address: string): { hostname: string; port: number } {
  const colon = address.lastIndexOf(":");
  const port = Number(address.slice(colon + 1));
  const hostname = address.slice(0, colon).replace(/^\[|\]$/g, "");
  if (colon <= 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new DiscoveryError(
      "INVALID_ARGUMENT",
      `Cannot parse address "${address}": want host:port`,
    );
  }
  return { hostname, port };
}

async function bindBoth(
  hostname: string,
  port: number,
): Promise<{ listener: Deno.TcpListener; socket: dgram.Socket }> {
  let lastError: unknown;
  for (let attempt = 0; attempt < bindAttemptsMax; attempt++) {
    const listener = Deno.listen({ hostname, port, transport: "tcp" });
    const boundPort = (listener.addr as Deno.NetAddr).port;
    const socket = dgram.createSocket(hostname.includes(":") ? "udp6" : "udp4");
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once("error", reject);
        socket.bind(boundPort, hostname, () => {
          socket.off("error", reject);
          resolve();
        });
      });
      return { listener, socket };
    } catch (error) {
      // The TCP port's UDP twin was taken: with a fixed port that is final, with 0 retry.
      lastError = error;
      listener.close();
      socket.close();
      if (port !== 0) break;
    }
  }
  throw new DiscoveryError("INVALID_ARGUMENT", `Cannot bind ${hostname}:${port} for UDP and TCP`, {
    cause: lastError,
  });
}

/**
 * A live member of a gossip cluster.
 *
 * Events (see {@linkcode MembershipEvent}): `join` when a member becomes live (first seen,
 * or back after a failure or leave, possibly at a new address: read `member.address` and
 * `member.tags` from the event); `update` when a live member's tags change (a live member's
 * address never changes: a second process under a live name is refused, see `join`);
 * `leave` and `fail` when it leaves or is declared failed.
 *
 * @example
 * ```ts
 * const node = await GossipNode.start({ name: "a", bindAddress: "127.0.0.1:0", keyring });
 * await node.join(["127.0.0.1:7946"]);
 * await node.leave();
 * await node.close();
 * ```
 */
export class GossipNode {
  /** Transport counters since start. */
  readonly stats: GossipStats = {
    packetsSent: 0,
    packetsReceived: 0,
    bytesSent: 0,
    bytesReceived: 0,
    authFailures: 0,
    malformed: 0,
    pushPullsServed: 0,
    pushPullsFailed: 0,
    pushPullsTimedOut: 0,
    pushPullsSkipped: 0,
    connectionsRefused: 0,
    framesTooLarge: 0,
    acceptErrors: 0,
    eventsDropped: 0,
    handlerErrors: 0,
    socketErrors: 0,
  };
  readonly #core: Membership;
  readonly #keyring: Keyring | null;
  readonly #sealer: Sealer;
  readonly #handler: Handler | undefined;
  readonly #socket: dgram.Socket;
  readonly #listener: Deno.TcpListener;
  readonly #address: string;
  readonly #eventQueueMax: number;
  readonly #pushPullTimeoutMs: number;
  readonly #streamConnectionsMax: number;
  readonly #pushPullsInFlightMax: number;
  readonly #frameBytesMax: number;
  readonly #warn: (message: string) => void;
  readonly #lastWarnMs = new Map<string, number>();
  readonly #tasks = new Set<Promise<unknown>>();
  /** Inbound streams being served; aborted by `close()`. */
  readonly #streams = new Set<ServerStream>();
  /** Outbound exchanges in flight; cancelled by `close()`. */
  readonly #exchanges = new Set<Exchange>();
  /** Inbound connections whose descriptor is not yet free (capped). */
  #heldConnections = 0;
  readonly #events: MembershipEvent[] = [];
  readonly #leaveWaiters: (() => void)[] = [];
  #wakeAcceptLoop: () => void = () => {};
  #pumping = false;
  #closed = false;
  readonly #timer: ReturnType<typeof setInterval>;

  private constructor(
    options: GossipNodeOptions,
    bound: { listener: Deno.TcpListener; socket: dgram.Socket; address: string },
  ) {
    this.#keyring = options.keyring;
    this.#sealer = options.keyring ?? plaintextSealer;
    this.#handler = options.handler;
    this.#listener = bound.listener;
    this.#socket = bound.socket;
    this.#address = bound.address;
    this.#eventQueueMax = options.eventQueueMax ?? 1024;
    this.#pushPullTimeoutMs = options.pushPullTimeoutMs ?? 5_000;
    this.#streamConnectionsMax = options.streamConnectionsMax ?? 32;
    this.#pushPullsInFlightMax = options.pushPullsInFlightMax ?? 8;
    this.#warn = options.warn ?? ((message) => console.warn(message));
    this.#core = new Membership({
      name: options.name,
      address: bound.address,
      ...(options.tags === undefined ? {} : { tags: options.tags }),
      ...(options.config === undefined ? {} : { config: options.config }),
      random: cryptoRandom,
      nowMs: performance.now(),
    });
    this.#frameBytesMax = pushPullBytesMax(this.#core.config);
    // ICMP "port unreachable" from a peer that just stopped surfaces as a socket error: to
    // SWIM that is a lost packet, never a reason to crash the node.
    this.#socket.on("error", () => this.stats.socketErrors++);
    this.#socket.on("message", (message: Buffer, info: dgram.RemoteInfo) => {
      this.#track(this.#onDatagram(new Uint8Array(message), `${info.address}:${info.port}`));
    });
    this.#track(this.#acceptLoop());
    this.#timer = setInterval(() => this.#tick(), options.tickMs ?? 10);
  }

  /** Binds UDP and TCP on `bindAddress` and starts the protocol (not yet joined). */
  static async start(options: GossipNodeOptions): Promise<GossipNode> {
    const { hostname, port } = splitAddress(options.bindAddress);
    const { listener, socket } = await bindBoth(hostname, port);
    const boundPort = (listener.addr as Deno.NetAddr).port;
    const address = options.advertiseAddress ??
      (hostname.includes(":") ? `[${hostname}]:${boundPort}` : `${hostname}:${boundPort}`);
    try {
      return new GossipNode(options, { listener, socket, address });
    } catch (error) {
      listener.close();
      socket.close();
      throw error;
    }
  }

  /** The address others reach this node at. */
  get address(): string {
    return this.#address;
  }

  /** This node's name. */
  get name(): string {
    return this.#core.name;
  }

  /**
   * The keyring sealing this node's traffic (null when gossip runs in plaintext). Rotate
   * a key cluster-wide with it: `install(new)` on every node, then `use(new)` on every
   * node, then `remove(old)`; each step takes effect on the next packet.
   */
  get keyring(): Keyring | null {
    return this.#keyring;
  }

  /** Core counters: probes, failed probes, suspicions, refutations, name conflicts. */
  get protocolStats(): MembershipStats {
    return this.#core.stats;
  }

  /** Inbound stream connections currently holding a descriptor. */
  get streamConnections(): number {
    return this.#heldConnections;
  }

  /** This node's current view, itself included. */
  members(): MemberState[] {
    return this.#core.members();
  }

  /**
   * Joins through `addresses` (full-state exchange with each, each within
   * `pushPullTimeoutMs`). Resolves with how many answered. Rejects with `NAME_CONFLICT` if
   * a seed holds another live member under this node's name (nothing is merged then), and
   * with `JOIN_FAILED` if no seed answered.
   */
  async join(addresses: readonly string[]): Promise<number> {
    const results = await Promise.allSettled(addresses.map((to) => this.#pushPull(to, true)));
    const conflict = results.find((result) =>
      result.status === "rejected" &&
      (result.reason as { code?: string }).code === "NAME_CONFLICT"
    );
    if (conflict !== undefined) throw (conflict as PromiseRejectedResult).reason;
    const joined = results.filter((result) => result.status === "fulfilled").length;
    if (addresses.length > 0 && joined === 0) {
      const reasons = results.map((result) =>
        result.status === "rejected" ? String(result.reason) : "ok"
      );
      throw new DiscoveryError(
        "JOIN_FAILED",
        `Cannot join: no seed answered (${reasons.join("; ")})`,
      );
    }
    return joined;
  }

  /** Publishes new tags to the cluster. */
  setTags(tags: Tags): void {
    this.#core.setTags(performance.now(), tags);
    this.#flush();
  }

  /** Announces a graceful leave and resolves once it was gossiped (the node then goes silent). */
  leave(): Promise<void> {
    this.#core.leave(performance.now());
    this.#flush();
    if (this.#core.status === "left") return Promise.resolve();
    return new Promise((resolve) => this.#leaveWaiters.push(resolve));
  }

  /**
   * Stops timers and closes sockets; ends every exchange in flight at once (hung peers
   * included) and waits for the rest of the work to settle.
   */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    for (const resolve of this.#leaveWaiters.splice(0)) resolve();
    this.#listener.close();
    this.#wakeAcceptLoop();
    for (const exchange of this.#exchanges) exchange.cancel();
    for (const stream of this.#streams) {
      stream.abort(new DiscoveryError("CLOSED", "Cannot serve a push/pull: the node closed"));
    }
    await new Promise<void>((resolve) => this.#socket.close(() => resolve()));
    await Promise.allSettled([...this.#tasks]);
  }

  #track(task: Promise<unknown>): void {
    this.#tasks.add(task);
    task.finally(() => this.#tasks.delete(task)).catch(() => {});
  }

  #warnOnce(kind: string, message: string): void {
    const nowMs = performance.now();
    const lastMs = this.#lastWarnMs.get(kind);
    if (lastMs !== undefined && nowMs - lastMs < warnIntervalMs) return;
    this.#lastWarnMs.set(kind, nowMs);
    this.#warn(message);
  }

  #tick(): void {
    if (this.#closed) return;
    this.#core.tick(performance.now());
    this.#flush();
    if (this.#core.status === "left") {
      for (const resolve of this.#leaveWaiters.splice(0)) resolve();
    }
  }

  #flush(): void {
    if (this.#closed) return;
    const ready = this.#core.takeReady();
    for (const packet of ready.packets) this.#track(this.#sendPacket(packet.to, packet.messages));
    for (const request of ready.pushPulls) {
      if (!request.join && this.#exchanges.size >= this.#pushPullsInFlightMax) {
        // A hung peer must not pile up exchanges: the next periodic one will try again.
        this.stats.pushPullsSkipped++;
        continue;
      }
      this.#track(this.#pushPull(request.to, request.join).catch(() => {}));
    }
    for (const event of ready.events) this.#enqueueEvent(event);
  }

  async #sendPacket(to: string, messages: Parameters<typeof encodePacket>[0]): Promise<void> {
    const sealed = await this.#sealer.seal(encodePacket(messages));
    if (this.#closed) return;
    const { hostname, port } = splitAddress(to);
    this.stats.packetsSent++;
    this.stats.bytesSent += sealed.length;
    await new Promise<void>((resolve) => {
      // A send error (unreachable host) is what a lost packet looks like to SWIM.
      this.#socket.send(sealed, port, hostname, () => resolve());
    });
  }

  async #onDatagram(sealed: Uint8Array, from: string): Promise<void> {
    this.stats.packetsReceived++;
    this.stats.bytesReceived += sealed.length;
    const plaintext = await this.#sealer.open(sealed);
    if (plaintext === null) {
      this.stats.authFailures++;
      return;
    }
    let messages;
    try {
      messages = decodePacket(plaintext);
    } catch {
      this.stats.malformed++;
      return;
    }
    if (this.#closed) return;
    this.#core.receive(performance.now(), from, messages);
    this.#flush();
  }

  /** Client side of push/pull: send our state, merge the reply (refused on a name conflict). */
  async #pushPull(to: string, join: boolean): Promise<void> {
    if (this.#closed) throw new DiscoveryError("CLOSED", `Cannot push/pull with ${to}: closed`);
    splitAddress(to);
    const payload = encodePushPull({ join, states: this.#core.localState() });
    const sealed = await this.#sealer.seal(payload);
    // close() may have run while sealing: it cancels only exchanges it can see.
    if (this.#closed) throw new DiscoveryError("CLOSED", `Cannot push/pull with ${to}: closed`);
    const exchange = exchangeFrame(to, sealed, {
      timeoutMs: this.#pushPullTimeoutMs,
      frameBytesMax: this.#frameBytesMax,
    });
    this.#exchanges.add(exchange);
    try {
      const reply = await this.#sealer.open(await exchange.reply);
      if (reply === null) {
        this.stats.authFailures++;
        throw new DiscoveryError(
          "AUTHENTICATION_FAILED",
          `Cannot trust push/pull reply from ${to}`,
        );
      }
      const { states } = decodePushPull(reply);
      const conflict = join ? this.#core.nameConflict(states) : null;
      if (conflict !== null) {
        throw new DiscoveryError("NAME_CONFLICT", `Cannot join through ${to}: ${conflict}`);
      }
      if (!this.#closed) {
        this.#core.mergeRemoteState(performance.now(), states);
        this.#flush();
      }
    } catch (error) {
      this.stats.pushPullsFailed++;
      if ((error as { code?: string }).code === "TIMEOUT") this.stats.pushPullsTimedOut++;
      throw error;
    } finally {
      this.#exchanges.delete(exchange);
    }
  }

  async #acceptLoop(): Promise<void> {
    let backoffMs = 0;
    while (!this.#closed) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
        backoffMs = 0;
      } catch (error) {
        if (this.#closed) return;
        // EMFILE and friends: the listener is still open, so wait and accept again.
        this.stats.acceptErrors++;
        backoffMs = Math.min(acceptBackoffMsMax, Math.max(acceptBackoffMsMin, backoffMs * 2));
        this.#warnOnce(
          "accept",
          `gossip: cannot accept a stream connection on ${this.#address} ` +
            `(${(error as Error).message}); retrying in ${backoffMs} ms`,
        );
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, backoffMs);
          this.#wakeAcceptLoop = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        continue;
      }
      if (this.#heldConnections >= this.#streamConnectionsMax) {
        this.stats.connectionsRefused++;
        this.#warnOnce(
          "cap",
          `gossip: refusing stream connections on ${this.#address}: ` +
            `${this.#heldConnections} open (streamConnectionsMax)`,
        );
        conn.close();
        continue;
      }
      this.#heldConnections++;
      const stream = new ServerStream(conn, this.#pushPullTimeoutMs);
      this.#track(this.#servePushPull(stream));
    }
  }

  /** Server side of push/pull; a stream that fails authentication is dropped unanswered. */
  async #servePushPull(stream: ServerStream): Promise<void> {
    this.#streams.add(stream);
    try {
      const request = await this.#sealer.open(await stream.readFrame(this.#frameBytesMax));
      if (request === null) {
        this.stats.authFailures++;
        return;
      }
      const { states } = decodePushPull(request);
      if (this.#closed) return;
      const reply = this.#core.handlePushPull(performance.now(), states);
      this.#flush();
      await stream.writeFrame(
        await this.#sealer.seal(encodePushPull({ join: false, states: reply })),
      );
      this.stats.pushPullsServed++;
    } catch (error) {
      this.stats.pushPullsFailed++;
      const code = (error as { code?: string }).code;
      if (code === "TIMEOUT") this.stats.pushPullsTimedOut++;
      if (code === "TOO_LARGE") this.stats.framesTooLarge++;
    } finally {
      this.#streams.delete(stream);
      stream.close();
      // The descriptor stays taken until a read pending on it returns (Deno 2.8.3): only
      // then does it leave the cap's count.
      void stream.released().then(() => this.#heldConnections--);
    }
  }

  #enqueueEvent(event: MembershipEvent): void {
    if (this.#handler === undefined) return;
    if (this.#events.length >= this.#eventQueueMax) {
      this.stats.eventsDropped++;
      return;
    }
    this.#events.push(event);
    // Not tracked: close() must not wait on a handler that never returns.
    if (!this.#pumping) void this.#pumpEvents();
  }

  /** Delivers events one at a time; a slow or failing handler never blocks the protocol. */
  async #pumpEvents(): Promise<void> {
    this.#pumping = true;
    // Let the protocol step that produced the event finish before any handler code runs.
    await Promise.resolve();
    try {
      for (let event = this.#events.shift(); event !== undefined; event = this.#events.shift()) {
        try {
          await this.#handler?.onEvent(event);
        } catch {
          this.stats.handlerErrors++;
        }
      }
    } finally {
      this.#pumping = false;
    }
  }
}
