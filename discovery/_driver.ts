/**
 * The driver: runs a {@linkcode Membership} core over real UDP (node:dgram) and TCP
 * (Deno.listen/connect) with real timers. It owns every side effect: the clock, sockets,
 * AES-GCM sealing, and delivering events to the handler off the protocol's path.
 * @module
 */

import dgram from "node:dgram";
import type { Buffer } from "node:buffer";
import type { MembershipConfig } from "./_config.ts";
import { decodePacket, decodePushPull, encodePacket, encodePushPull } from "./_codec.ts";
import { DiscoveryError } from "./_errors.ts";
import type { Keyring } from "./_keyring.ts";
import { Membership } from "./_membership.ts";
import type { Handler, MembershipEvent, MemberState, Random, Tags } from "./_types.ts";

/** Options of {@linkcode GossipNode.start}. */
export interface GossipNodeOptions {
  /** Unique member name. */
  readonly name: string;
  /** `host:port` to bind UDP and TCP to; port 0 picks a free port. */
  readonly bindAddress: string;
  /** Address announced to others; defaults to the bound address (required for 0.0.0.0). */
  readonly advertiseAddress?: string;
  /** Keys that seal and open every packet and stream. */
  readonly keyring: Keyring;
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
  /** Deadline of one push/pull exchange, connect to reply. */
  readonly pushPullTimeoutMs?: number;
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
  /** Events dropped because the handler queue was full. */
  eventsDropped: number;
  /** Events whose handler threw or rejected. */
  handlerErrors: number;
  /** UDP socket errors (for example ICMP port unreachable), treated as packet loss. */
  socketErrors: number;
}

const frameBytesMax = 8 * 1024 * 1024;
const bindAttemptsMax = 8;

/** Randomness for production: crypto-seeded, never replayable. */
const cryptoRandom: Random = {
  next(): number {
    return crypto.getRandomValues(new Uint32Array(1))[0] as number / 0x1_0000_0000;
  },
  intBelow(maxExclusive: number): number {
    return Math.floor(this.next() * maxExclusive);
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

/** Closes a connection that a timeout, `close()` or the peer may already have closed. */
function closeQuietly(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // Already closed: nothing left to release.
  }
}

async function readExactly(conn: Deno.Conn, into: Uint8Array): Promise<void> {
  let filled = 0;
  while (filled < into.length) {
    const count = await conn.read(into.subarray(filled));
    if (count === null) {
      throw new DiscoveryError("MALFORMED_PACKET", `Cannot read frame: stream ended at ${filled}`);
    }
    filled += count;
  }
}

async function readFrame(conn: Deno.Conn): Promise<Uint8Array> {
  const header = new Uint8Array(4);
  await readExactly(conn, header);
  const length = new DataView(header.buffer).getUint32(0);
  if (length > frameBytesMax) {
    throw new DiscoveryError("TOO_LARGE", `Cannot read a ${length}-byte frame: at most 8 MiB`);
  }
  const body = new Uint8Array(length);
  await readExactly(conn, body);
  return body;
}

async function writeFrame(conn: Deno.Conn, body: Uint8Array): Promise<void> {
  const frame = new Uint8Array(4 + body.length);
  new DataView(frame.buffer).setUint32(0, body.length);
  frame.set(body, 4);
  let written = 0;
  while (written < frame.length) written += await conn.write(frame.subarray(written));
}

/**
 * A live member of a gossip cluster.
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
    eventsDropped: 0,
    handlerErrors: 0,
    socketErrors: 0,
  };
  readonly #core: Membership;
  readonly #keyring: Keyring;
  readonly #handler: Handler | undefined;
  readonly #socket: dgram.Socket;
  readonly #listener: Deno.TcpListener;
  readonly #address: string;
  readonly #eventQueueMax: number;
  readonly #pushPullTimeoutMs: number;
  readonly #tasks = new Set<Promise<unknown>>();
  readonly #conns = new Set<Deno.Conn>();
  readonly #events: MembershipEvent[] = [];
  readonly #leaveWaiters: (() => void)[] = [];
  #pumping = false;
  #closed = false;
  readonly #timer: ReturnType<typeof setInterval>;

  private constructor(
    options: GossipNodeOptions,
    bound: { listener: Deno.TcpListener; socket: dgram.Socket; address: string },
  ) {
    this.#keyring = options.keyring;
    this.#handler = options.handler;
    this.#listener = bound.listener;
    this.#socket = bound.socket;
    this.#address = bound.address;
    this.#eventQueueMax = options.eventQueueMax ?? 1024;
    this.#pushPullTimeoutMs = options.pushPullTimeoutMs ?? 5_000;
    this.#core = new Membership({
      name: options.name,
      address: bound.address,
      ...(options.tags === undefined ? {} : { tags: options.tags }),
      ...(options.config === undefined ? {} : { config: options.config }),
      random: cryptoRandom,
      nowMs: performance.now(),
    });
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

  /** This node's current view, itself included. */
  members(): MemberState[] {
    return this.#core.members();
  }

  /**
   * Joins through `addresses` (full-state exchange with each). Resolves with how many
   * answered; rejects with `JOIN_FAILED` if none did.
   */
  async join(addresses: readonly string[]): Promise<number> {
    const results = await Promise.allSettled(addresses.map((to) => this.#pushPull(to, true)));
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

  /** Stops timers and closes sockets; waits for in-flight work to settle. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#timer);
    for (const resolve of this.#leaveWaiters.splice(0)) resolve();
    this.#listener.close();
    for (const conn of this.#conns) closeQuietly(conn);
    await new Promise<void>((resolve) => this.#socket.close(() => resolve()));
    await Promise.allSettled([...this.#tasks]);
  }

  #track(task: Promise<unknown>): void {
    this.#tasks.add(task);
    task.finally(() => this.#tasks.delete(task)).catch(() => {});
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
      this.#track(this.#pushPull(request.to, request.join).catch(() => {}));
    }
    for (const event of ready.events) this.#enqueueEvent(event);
  }

  async #sendPacket(to: string, messages: Parameters<typeof encodePacket>[0]): Promise<void> {
    const sealed = await this.#keyring.seal(encodePacket(messages));
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
    const plaintext = await this.#keyring.open(sealed);
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

  /** Client side of push/pull: send our state, merge the reply. */
  async #pushPull(to: string, join: boolean): Promise<void> {
    const { hostname, port } = splitAddress(to);
    const conn = await Deno.connect({ hostname, port, transport: "tcp" });
    this.#conns.add(conn);
    const timer = setTimeout(() => closeQuietly(conn), this.#pushPullTimeoutMs);
    try {
      const payload = encodePushPull({ join, states: this.#core.localState() });
      await writeFrame(conn, await this.#keyring.seal(payload));
      const reply = await this.#keyring.open(await readFrame(conn));
      if (reply === null) {
        this.stats.authFailures++;
        throw new DiscoveryError(
          "AUTHENTICATION_FAILED",
          `Cannot trust push/pull reply from ${to}`,
        );
      }
      if (!this.#closed) {
        this.#core.mergeRemoteState(performance.now(), decodePushPull(reply).states);
        this.#flush();
      }
    } catch (error) {
      this.stats.pushPullsFailed++;
      throw error;
    } finally {
      clearTimeout(timer);
      this.#conns.delete(conn);
      closeQuietly(conn);
    }
  }

  async #acceptLoop(): Promise<void> {
    for (;;) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
      } catch {
        return; // Listener closed.
      }
      this.#track(this.#servePushPull(conn));
    }
  }

  /** Server side of push/pull; a stream that fails authentication is dropped unanswered. */
  async #servePushPull(conn: Deno.Conn): Promise<void> {
    this.#conns.add(conn);
    const timer = setTimeout(() => closeQuietly(conn), this.#pushPullTimeoutMs);
    try {
      const request = await this.#keyring.open(await readFrame(conn));
      if (request === null) {
        this.stats.authFailures++;
        return;
      }
      const { states } = decodePushPull(request);
      if (this.#closed) return;
      const reply = this.#core.handlePushPull(performance.now(), states);
      this.#flush();
      await writeFrame(
        conn,
        await this.#keyring.seal(encodePushPull({ join: false, states: reply })),
      );
      this.stats.pushPullsServed++;
    } catch {
      this.stats.pushPullsFailed++;
    } finally {
      clearTimeout(timer);
      this.#conns.delete(conn);
      closeQuietly(conn);
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
