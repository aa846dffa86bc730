/**
 * A simulated network of byte streams for the production {@linkcode PeerTransport}: `dial`
 * returns an in-memory {@linkcode PeerStream} whose bytes reach the peer's `accept`ed stream
 * after seeded delays, in order (as over TCP). Faults: partitions and one-way cuts (dials fail,
 * connections across them reset), connection resets (everything in flight is lost), hung
 * connections (the receiver stops reading, so the sender's writes block), lingering
 * connections (a reset sender redials while its old bytes still arrive: reordering across
 * connections), and a flipped byte in a chunk.
 * @module
 */

import { decodeBody, FrameSplitter, type Message, type PeerStream } from "../../../raft/mod.ts";
import type { SeededRandom } from "../random.ts";
import type { Scheduler } from "./_scheduler.ts";

/** Knobs of the network, changed by the fault schedule while a run goes on. */
export interface NetQuality {
  delayMsMin: number;
  delayMsMax: number;
  /** Probability that a written chunk has one byte flipped. */
  corruptRate: number;
  /** Probability that a written chunk resets its connection instead of arriving. */
  resetRate: number;
}

/** Where a node's transport takes inbound connections. */
export interface Endpoint {
  readonly id: string;
  accept(stream: PeerStream): void;
  /** False once this incarnation crashed: nothing may reach it any more. */
  alive(): boolean;
}

/** One direction of a connection: the dialer writes, the acceptor reads. */
class Connection {
  readonly from: string;
  readonly to: string;
  readonly #target: Endpoint;
  #controller: ReadableStreamDefaultController<Uint8Array> | null = null;
  #lastDeliveryMs = 0;
  #broken = false;
  #hung = false;
  #lingering = false;
  /** A chunk of this connection had a byte flipped. */
  corrupted = false;
  /** Decodes what the sender writes, for faults that react to messages (never altered). */
  readonly #observer = new FrameSplitter();
  #blocked: { bytes: Uint8Array; resolve(): void; reject(error: Error): void }[] = [];
  readonly dialer: PeerStream;
  readonly acceptor: PeerStream;
  readonly #net: SimNet;

  constructor(net: SimNet, from: string, target: Endpoint) {
    this.#net = net;
    this.from = from;
    this.to = target.id;
    this.#target = target;
    const readable = new ReadableStream<Uint8Array>({
      start: (controller) => {
        this.#controller = controller;
      },
    });
    const writable = new WritableStream<Uint8Array>({
      write: (chunk) => this.#write(chunk),
    });
    const idle = new ReadableStream<Uint8Array>({});
    const sink = new WritableStream<Uint8Array>({});
    this.dialer = { readable: idle, writable, close: () => this.reset() };
    this.acceptor = { readable, writable: sink, close: () => this.reset() };
  }

  get broken(): boolean {
    return this.#broken;
  }

  #write(chunk: Uint8Array): Promise<void> {
    if (this.#broken) return Promise.reject(new Deno.errors.BrokenPipe("connection reset"));
    const bytes = chunk.slice();
    const net = this.#net;
    this.#observe(bytes);
    if (net.random.chance(net.quality.resetRate)) {
      this.reset();
      return Promise.reject(new Deno.errors.ConnectionReset("connection reset by the network"));
    }
    if (net.random.chance(net.quality.corruptRate) && bytes.length > 0) {
      const at = net.random.intBelow(bytes.length);
      bytes[at] = (bytes[at] as number) ^ (1 << net.random.intBelow(8));
      net.corrupted++;
      this.corrupted = true;
    }
    net.bytesSent += bytes.length;
    if (!this.#hung) {
      this.#deliver(bytes);
      return Promise.resolve();
    }
    // A receiver that stopped reading: the socket buffer fills and the write blocks.
    const { promise, resolve, reject } = Promise.withResolvers<void>();
    this.#blocked.push({ bytes, resolve, reject });
    return promise;
  }

  #observe(bytes: Uint8Array): void {
    const onMessage = this.#net.onMessage;
    if (onMessage === null) return;
    for (const body of this.#observer.push(bytes.slice())) onMessage(decodeBody(body));
  }

  #deliver(bytes: Uint8Array): void {
    const net = this.#net;
    const delayMs = net.random.intBetween(net.quality.delayMsMin, net.quality.delayMsMax);
    const atMs = Math.max(this.#lastDeliveryMs, net.scheduler.nowMs + delayMs);
    this.#lastDeliveryMs = atMs;
    net.scheduler.after(atMs - net.scheduler.nowMs, () => {
      if ((this.#broken && !this.#lingering) || !this.#target.alive()) return;
      try {
        this.#controller?.enqueue(bytes);
      } catch {
        // the reader went away
      }
    });
  }

  /** The receiver stops reading until `unhang` (or a reset). */
  hang(): void {
    this.#hung = true;
  }

  unhang(): void {
    this.#hung = false;
    const blocked = this.#blocked;
    this.#blocked = [];
    for (const write of blocked) {
      this.#deliver(write.bytes);
      write.resolve();
    }
  }

  /** Both ends fail: bytes in flight are lost. */
  reset(): void {
    if (this.#broken) return;
    this.#broken = true;
    this.#net.forget(this);
    try {
      this.#controller?.error(new Deno.errors.ConnectionReset("connection reset"));
    } catch {
      // already errored
    }
    const blocked = this.#blocked;
    this.#blocked = [];
    for (const write of blocked) write.reject(new Deno.errors.BrokenPipe("connection reset"));
  }

  /** The sender sees a reset, but what it already wrote still arrives (then EOF). */
  linger(): void {
    if (this.#broken) return;
    this.unhang();
    this.#broken = true;
    this.#lingering = true;
    this.#net.forget(this);
    const closeAtMs = Math.max(this.#lastDeliveryMs, this.#net.scheduler.nowMs) + 1;
    this.#net.scheduler.after(closeAtMs - this.#net.scheduler.nowMs, () => {
      try {
        this.#controller?.close();
      } catch {
        // already closed
      }
    });
  }
}

/** The network between the nodes of one simulation. */
export class SimNet {
  readonly scheduler: Scheduler;
  readonly random: SeededRandom;
  readonly quality: NetQuality;
  /** Directed cuts "a>b": a cannot reach b. */
  readonly cuts = new Set<string>();
  readonly #endpoints = new Map<string, Endpoint>();
  readonly #connections = new Set<Connection>();
  bytesSent = 0;
  corrupted = 0;
  /** Sees every message a node writes to a connection (before any corruption). */
  onMessage: ((message: Message) => void) | null = null;
  dials = 0;

  constructor(scheduler: Scheduler, random: SeededRandom, quality: NetQuality) {
    this.scheduler = scheduler;
    this.random = random;
    this.quality = quality;
  }

  /** A node (re)started: its transport accepts connections addressed to its id. */
  register(endpoint: Endpoint): void {
    this.#endpoints.set(endpoint.id, endpoint);
  }

  /** A node crashed: it accepts nothing and every connection from or to it resets. */
  unregister(id: string): void {
    this.#endpoints.delete(id);
    for (const connection of [...this.#connections]) {
      if (connection.from === id || connection.to === id) connection.reset();
    }
  }

  /** The dial function of `from`'s transport; `alive` tells whether that incarnation runs. */
  dialer(from: string, alive: () => boolean): (address: string) => Promise<PeerStream> {
    return (address) => this.#dial(from, address, alive);
  }

  #dial(from: string, to: string, alive: () => boolean): Promise<PeerStream> {
    this.dials++;
    const { promise, resolve, reject } = Promise.withResolvers<PeerStream>();
    const delayMs = this.random.intBetween(this.quality.delayMsMin, this.quality.delayMsMax);
    this.scheduler.after(delayMs, () => {
      const endpoint = this.#endpoints.get(to);
      if (!alive() || endpoint === undefined || this.#isCut(from, to)) {
        reject(new Deno.errors.ConnectionRefused(`cannot reach ${to}`));
        return;
      }
      const connection = new Connection(this, from, endpoint);
      this.#connections.add(connection);
      endpoint.accept(connection.acceptor);
      resolve(connection.dialer);
    });
    return promise;
  }

  #isCut(a: string, b: string): boolean {
    return this.cuts.has(`${a}>${b}`) || this.cuts.has(`${b}>${a}`);
  }

  /** Applies the cuts to open connections (a connection needs both directions). */
  enforceCuts(): void {
    for (const connection of [...this.#connections]) {
      if (this.#isCut(connection.from, connection.to)) connection.reset();
    }
  }

  forget(connection: Connection): void {
    this.#connections.delete(connection);
  }

  /** Open connections, for faults that pick one. */
  connections(): Connection[] {
    return [...this.#connections];
  }
}
