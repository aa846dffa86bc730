/**
 * Peer transport: Raft messages as length-prefixed binary frames over TCP (or TLS).
 *
 * Each node dials one outbound connection per peer and only writes to it; inbound
 * connections are only read. Raft tolerates loss, so a failed or timed-out write drops the
 * queued messages and the next send redials (after a short backoff); a peer that stops
 * reading costs one write timeout, never an unbounded backlog. Queues are bounded in bytes
 * and messages; every drop is counted ({@linkcode PeerTransport.stats}), logged, and
 * reported to `onDrop` so the leader re-probes that follower.
 * `accept()` takes an already-connected stream, so a listener that multiplexes the client
 * port (or terminates TLS) can hand peer connections over.
 * @module
 */

import { CodecError, decodeBody, encodeFrame, EntryEncodings, FrameSplitter } from "./_codec.ts";
import type { Message, NodeId } from "./_messages.ts";

/** A connected byte stream (Deno.Conn and Deno.TlsConn satisfy it). */
export interface PeerStream {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  close(): void;
}

/** Where Raft's IO layers report what they drop (structurally a subset of observe's Logger). */
export interface RaftLogger {
  warn(message: string, fields?: Readonly<Record<string, unknown>>): void;
  error(message: string, fields?: Readonly<Record<string, unknown>>): void;
}

/** Writes to stderr: losses are never silent, even without a logger. */
export const consoleLogger: RaftLogger = {
  warn: (message, fields) => console.warn(message, fields ?? ""),
  error: (message, fields) => console.error(message, fields ?? ""),
};

/** Options of {@linkcode PeerTransport}. */
export interface PeerTransportOptions {
  /** Called for every decoded inbound message (an exception drops that message only). */
  readonly onMessage: (message: Message) => void;
  /** Opens a connection to a peer address ("host:port"). Default: plaintext TCP. */
  readonly dial?: (address: string) => Promise<PeerStream>;
  /**
   * Bytes queued per peer before new messages are dropped (one frame is always accepted
   * into an empty queue). Default 8 MiB: the leader's in-flight window per follower.
   */
  readonly queueBytesMax?: number;
  /** Messages queued per peer before new ones are dropped. Default 1024. */
  readonly queueMessagesMax?: number;
  /** Wait after a failed dial or write before dialing that peer again. Default 100 ms. */
  readonly redialMs?: number;
  /** A dial that has not connected by then fails. Default 3 000 ms. */
  readonly connectTimeoutMs?: number;
  /**
   * A write the peer has not taken by then (it stopped reading, or the path is dead) drops
   * the connection and its queue; the next message redials. Default 2 000 ms.
   */
  readonly writeTimeoutMs?: number;
  /**
   * Called when messages to a peer were dropped (full queue, failed or timed-out
   * connection), so the sender can resend from what the peer acknowledged
   * (e.g. {@linkcode RaftNode.reportUnreachable}) instead of waiting for a rejection.
   */
  readonly onDrop?: (to: NodeId) => void;
  /** Where drops and bad frames are logged. Default: the console. */
  readonly logger?: RaftLogger;
  /** The clock redial waits are measured on. Default `Date.now`. */
  readonly nowMs?: () => number;
  /** Runs `run` after `delayMs` unless cancelled (dial/write timeouts). Default setTimeout. */
  readonly after?: (delayMs: number, run: () => void) => () => void;
}

/** Counters of a {@linkcode PeerTransport}, for metrics. All only ever grow. */
export interface TransportStats {
  /** Frames handed to connections. */
  framesSent: number;
  /** Frames received and decoded. */
  framesReceived: number;
  /** Outbound messages dropped: full queue, redial backoff, failed or timed-out connection. */
  droppedMessages: number;
  /** Inbound connections dropped for a malformed frame (bad checksum, length, encoding). */
  badFrames: number;
  /**
   * Of {@linkcode badFrames}: a damaged frame header (header checksum, length over the
   * limit), found before waiting for the body the length announced.
   */
  badHeaders: number;
  /** Inbound messages whose handler threw (the message is dropped, the node carries on). */
  handlerErrors: number;
  /** Inbound messages whose sender differs from the peer the connection authenticated as. */
  identityMismatches: number;
  /** Outbound messages that could not be encoded (dropped). */
  encodeErrors: number;
  /** Dials that failed or timed out. */
  dialFailures: number;
  /** Outbound connections established (the first dial to a peer and every redial). */
  connects: number;
  /** Writes that did not complete within `writeTimeoutMs`. */
  writeTimeouts: number;
}

/** Identity of an inbound connection, from whoever authenticated it (e.g. a TLS listener). */
export interface AcceptOptions {
  /**
   * The node the peer's certificate names: messages whose `from` differs are dropped and
   * counted in {@linkcode TransportStats.identityMismatches}.
   */
  readonly peerName?: string;
}

/** Plaintext TCP dial of "host:port", with TCP keepalive so a dead peer is noticed. */
export async function dialTcp(address: string): Promise<PeerStream> {
  const colon = address.lastIndexOf(":");
  const conn = await Deno.connect({
    hostname: address.slice(0, colon),
    port: Number(address.slice(colon + 1)),
  });
  conn.setNoDelay(true);
  conn.setKeepAlive(true);
  return conn;
}

type LinkOptions = Required<Omit<PeerTransportOptions, "onMessage" | "onDrop">> & {
  readonly onDrop: (to: NodeId) => void;
};

class TimeoutError extends Error {}

function realAfter(delayMs: number, run: () => void): () => void {
  const id = setTimeout(run, delayMs);
  return () => clearTimeout(id);
}

/** Resolves like `promise`, or rejects with a TimeoutError after `ms`. */
async function within<T>(
  after: LinkOptions["after"],
  promise: Promise<T>,
  ms: number,
  what: string,
): Promise<T> {
  let cancel = () => {};
  const timeout = new Promise<never>((_, reject) => {
    cancel = after(ms, () => reject(new TimeoutError(`${what} took over ${ms} ms`)));
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    cancel();
  }
}

class PeerLink {
  readonly id: NodeId;
  readonly address: string;
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #stream: PeerStream | null = null;
  #writer: WritableStreamDefaultWriter<Uint8Array> | null = null;
  #running: Promise<void> | null = null;
  /** Rejects on close: a write or dial the runtime cannot abort must not hold close() up. */
  readonly #stopped = Promise.withResolvers<never>();
  #retryAtMs = 0;
  /** When the write in progress started (null: none). */
  #writeStartedMs: number | null = null;
  /** Rejected by the watchdog when a write runs too long; replaced after it is. */
  #writeTimeout: PromiseWithResolvers<never> | null = null;
  /** Cancels the watchdog's timer (null: not armed). */
  #watchdog: (() => void) | null = null;
  /** Set from a failure until the next successful dial (logging once per outage). */
  #failing = false;
  closed = false;
  readonly #options: LinkOptions;
  readonly #stats: TransportStats;

  constructor(id: NodeId, address: string, options: LinkOptions, stats: TransportStats) {
    this.id = id;
    this.address = address;
    this.#options = options;
    this.#stats = stats;
  }

  /** Frames and bytes waiting to be written. */
  queued(): { messages: number; bytes: number } {
    return { messages: this.#queue.length, bytes: this.#queuedBytes };
  }

  enqueue(frame: Uint8Array): void {
    if (this.closed) return;
    const full = this.#queue.length > 0 &&
      (this.#queuedBytes + frame.length > this.#options.queueBytesMax ||
        this.#queue.length >= this.#options.queueMessagesMax);
    if (full || this.#options.nowMs() < this.#retryAtMs) return this.#dropped(1);
    this.#queue.push(frame);
    this.#queuedBytes += frame.length;
    if (this.#running === null) this.#running = this.#run();
  }

  /**
   * Rejects once the write in progress has run for `writeTimeoutMs`. One timer serves many
   * writes: when it fires it re-arms for the rest of the current write's time, or stops if no
   * write is in progress (a timer set and cleared per write cost ~20 µs, as much as the
   * write of a small frame). The promise is shared by the writes until one times out.
   */
  #watchWrite(): Promise<never> {
    if (this.#writeTimeout === null) {
      const timeout = Promise.withResolvers<never>();
      timeout.promise.catch(() => {});
      this.#writeTimeout = timeout;
    }
    const timeout = this.#writeTimeout;
    if (this.#watchdog === null) this.#armWatchdog(this.#options.writeTimeoutMs);
    return timeout.promise;
  }

  #armWatchdog(delayMs: number): void {
    this.#watchdog = this.#options.after(delayMs, () => {
      this.#watchdog = null;
      const started = this.#writeStartedMs;
      if (started === null || this.closed) return;
      const elapsed = this.#options.nowMs() - started;
      const limit = this.#options.writeTimeoutMs;
      if (elapsed < limit) return this.#armWatchdog(limit - elapsed);
      const timeout = this.#writeTimeout;
      this.#writeTimeout = null;
      timeout?.reject(new TimeoutError(`a write to ${this.address} took over ${limit} ms`));
    });
  }

  /** Drops are reported to the sender so it re-probes rather than waiting for a rejection. */
  #dropped(count: number): void {
    if (count === 0) return;
    this.#stats.droppedMessages += count;
    this.#options.onDrop(this.id);
  }

  async #run(): Promise<void> {
    try {
      while (this.#queue.length > 0 && !this.closed) {
        if (this.#writer === null) await this.#connect();
        if (this.closed || this.#writer === null) break;
        const batch = concat(this.#queue);
        this.#stats.framesSent += this.#queue.length;
        this.#queue = [];
        this.#queuedBytes = 0;
        const write = this.#writer.write(batch);
        write.catch(() => {}); // observed below; a timeout abandons it
        this.#writeStartedMs = this.#options.nowMs();
        const timedOut = this.#watchWrite();
        try {
          await Promise.race([write, this.#stopped.promise, timedOut]);
        } catch (error) {
          if (error instanceof TimeoutError) this.#stats.writeTimeouts++;
          throw error;
        } finally {
          this.#writeStartedMs = null;
        }
      }
    } catch (error) {
      // One line per outage, not per redial (a down peer is retried every redialMs).
      if (!this.closed && !this.#failing) {
        this.#options.logger.warn(`Lost the connection to peer ${this.id}; redialing`, {
          address: this.address,
          error: String(error),
          droppedMessages: this.#queue.length,
        });
      }
      this.#failing = true;
      const lost = this.#queue.length;
      this.#queue = [];
      this.#queuedBytes = 0;
      this.#retryAtMs = this.#options.nowMs() + this.#options.redialMs;
      this.#drop();
      if (!this.closed) this.#dropped(lost);
    } finally {
      this.#running = null;
      if (this.closed) this.#drop();
    }
  }

  async #connect(): Promise<void> {
    const dialing = this.#options.dial(this.address);
    try {
      this.#stream = await within(
        this.#options.after,
        Promise.race([dialing, this.#stopped.promise]),
        this.#options.connectTimeoutMs,
        `dialing ${this.address}`,
      );
    } catch (error) {
      this.#stats.dialFailures++;
      dialing.then(closeQuietly, () => {}); // a dial that connects after its timeout is closed
      throw error;
    }
    if (this.closed) return this.#drop();
    this.#writer = this.#stream.writable.getWriter();
    this.#stats.connects++;
    if (this.#failing) this.#options.logger.warn(`Reconnected to peer ${this.id}`);
    this.#failing = false;
  }

  #drop(): void {
    const stream = this.#stream;
    const writer = this.#writer;
    this.#stream = null;
    this.#writer = null;
    if (writer !== null) {
      writer.abort().catch(() => {});
      writer.releaseLock();
    }
    if (stream !== null) closeQuietly(stream);
  }

  /** Closes the connection (aborting a write in progress) and waits for the sender loop. */
  async close(): Promise<void> {
    this.closed = true;
    this.#stopped.promise.catch(() => {});
    this.#stopped.reject(new Error("closed"));
    this.#watchdog?.();
    this.#watchdog = null;
    this.#drop();
    await this.#running;
  }
}

function concat(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0] as Uint8Array;
  let length = 0;
  for (const chunk of chunks) length += chunk.length;
  const out = new Uint8Array(length);
  let position = 0;
  for (const chunk of chunks) {
    out.set(chunk, position);
    position += chunk.length;
  }
  return out;
}

/**
 * Sends and receives Raft messages between nodes.
 *
 * @example
 * ```ts
 * const transport = new PeerTransport({ onMessage: (m) => node.step(m) });
 * const { port } = transport.listen({ hostname: "127.0.0.1", port: 0 });
 * transport.setPeer("b", "127.0.0.1:7002");
 * ```
 */
export class PeerTransport {
  readonly #options: LinkOptions & { readonly onMessage: (message: Message) => void };
  readonly #links = new Map<NodeId, PeerLink>();
  readonly #inbound = new Map<PeerStream, ReadableStreamDefaultReader<Uint8Array>>();
  readonly #readers = new Set<Promise<void>>();
  readonly #stats: TransportStats = {
    framesSent: 0,
    framesReceived: 0,
    droppedMessages: 0,
    badFrames: 0,
    badHeaders: 0,
    handlerErrors: 0,
    identityMismatches: 0,
    encodeErrors: 0,
    dialFailures: 0,
    connects: 0,
    writeTimeouts: 0,
  };
  /** Each entry is encoded once, whichever followers it goes to. */
  readonly #encodings = new EntryEncodings();
  #listener: Deno.Listener | null = null;
  #acceptLoop: Promise<void> | null = null;
  #closed = false;
  #closing: Promise<void>[] = [];

  constructor(options: PeerTransportOptions) {
    this.#options = {
      dial: dialTcp,
      queueBytesMax: 8 << 20,
      queueMessagesMax: 1024,
      redialMs: 100,
      connectTimeoutMs: 3_000,
      writeTimeoutMs: 2_000,
      logger: consoleLogger,
      nowMs: Date.now,
      after: realAfter,
      ...options,
      onDrop: options.onDrop ?? (() => {}),
    };
  }

  /** Counters for metrics (a copy). */
  stats(): TransportStats {
    return { ...this.#stats };
  }

  /** Per peer: frames and bytes queued for it and not yet written (the send queue depth). */
  queues(): { id: NodeId; messages: number; bytes: number }[] {
    return [...this.#links.values()].map((link) => ({ id: link.id, ...link.queued() }));
  }

  /** Listens for peer connections on a TCP address; returns the bound port. */
  listen(address: { hostname: string; port: number }): { port: number } {
    const listener = Deno.listen(address);
    this.#listener = listener;
    this.#acceptLoop = (async () => {
      try {
        for await (const conn of listener) {
          conn.setKeepAlive(true);
          this.accept(conn);
        }
      } catch {
        // listener closed
      }
    })();
    return { port: (listener.addr as Deno.NetAddr).port };
  }

  /**
   * Serves an inbound connection that someone else accepted (multiplexer, TLS listener).
   * With `peerName` (the node the peer's certificate names), only messages from that node
   * are accepted on this connection.
   */
  accept(stream: PeerStream, options: AcceptOptions = {}): void {
    if (this.#closed) return closeQuietly(stream);
    const reader = stream.readable.getReader();
    this.#inbound.set(stream, reader);
    const done = this.#read(reader, options.peerName ?? null).finally(() => {
      this.#inbound.delete(stream);
      this.#readers.delete(done);
      reader.releaseLock();
      closeQuietly(stream);
    });
    this.#readers.add(done);
  }

  async #read(reader: ReadableStreamDefaultReader<Uint8Array>, peer: string | null) {
    const splitter = new FrameSplitter();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        for (const body of splitter.push(value)) this.#deliver(decodeBody(body), peer);
      }
    } catch (error) {
      // A broken or garbled connection is dropped; Raft retries over a fresh one.
      if (error instanceof CodecError) {
        this.#stats.badFrames++;
        if (error.part === "header") this.#stats.badHeaders++;
        this.#options.logger.warn("Dropping a peer connection: malformed frame", {
          peer,
          error: error.message,
        });
      } else if (!isConnectionError(error) && !this.#closed) {
        this.#options.logger.warn("Dropping a peer connection", { peer, error: String(error) });
      }
    }
  }

  #deliver(message: Message, peer: string | null): void {
    this.#stats.framesReceived++;
    if (peer !== null && message.from !== peer) {
      this.#stats.identityMismatches++;
      this.#options.logger.warn("Dropping a Raft message: sender differs from the certificate", {
        certificate: peer,
        from: message.from,
      });
      return;
    }
    try {
      this.#options.onMessage(message);
    } catch (error) {
      // One bad message (or a bug it triggers) must not take the node down.
      this.#stats.handlerErrors++;
      this.#options.logger.error("Dropping a Raft message: handling it failed", {
        from: message.from,
        type: message.type,
        error: String(error),
      });
    }
  }

  /** Sets (or changes) where a peer listens. */
  setPeer(id: NodeId, address: string): void {
    const existing = this.#links.get(id);
    if (existing?.address === address) return;
    if (existing !== undefined) this.#closing.push(existing.close());
    this.#links.set(id, new PeerLink(id, address, this.#options, this.#stats));
  }

  /** Forgets a peer and closes its connection. */
  removePeer(id: NodeId): void {
    const existing = this.#links.get(id);
    if (existing !== undefined) this.#closing.push(existing.close());
    this.#links.delete(id);
  }

  /**
   * Queues a message for its recipient; unknown recipients drop it, full queues drop it
   * (counted, reported to `onDrop`), and an unencodable message is dropped and counted.
   */
  send(message: Message): void {
    if (this.#closed) return;
    const link = this.#links.get(message.to);
    if (link === undefined) return;
    let frame: Uint8Array;
    try {
      frame = encodeFrame(message, this.#encodings);
    } catch (error) {
      this.#stats.encodeErrors++;
      this.#options.logger.error("Dropping a Raft message: it cannot be encoded", {
        to: message.to,
        type: message.type,
        error: String(error),
      });
      return;
    }
    link.enqueue(frame);
  }

  /** Closes the listener and every connection, and waits for the readers to finish. */
  async close(): Promise<void> {
    this.#closed = true;
    this.#listener?.close();
    for (const link of this.#links.values()) this.#closing.push(link.close());
    // Cancelling the reader (not closing the resource under it) ends a pending read.
    for (const reader of this.#inbound.values()) reader.cancel().catch(() => {});
    await this.#acceptLoop;
    await Promise.allSettled([...this.#readers, ...this.#closing]);
  }
}

function closeQuietly(stream: PeerStream): void {
  try {
    stream.close();
  } catch {
    // already closed
  }
}

function isConnectionError(error: unknown): boolean {
  return error instanceof Deno.errors.ConnectionReset ||
    error instanceof Deno.errors.BrokenPipe ||
    error instanceof Deno.errors.BadResource ||
    error instanceof Deno.errors.Interrupted ||
    error instanceof Deno.errors.ConnectionAborted;
}
