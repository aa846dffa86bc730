/**
 * Peer transport: Raft messages as length-prefixed binary frames over TCP (or TLS).
 *
 * Each node dials one outbound connection per peer and only writes to it; inbound
 * connections are only read. Raft tolerates loss, so a failed write drops the queued
 * messages and the next send redials (after a short backoff). Queues are bounded in bytes.
 * `accept()` takes an already-connected stream, so a listener that multiplexes the client
 * port (or terminates TLS) can hand peer connections over.
 * @module
 */

import { CodecError, decodeBody, encodeFrame, FrameSplitter } from "./_codec.ts";
import type { Message, NodeId } from "./_messages.ts";

/** A connected byte stream (Deno.Conn and Deno.TlsConn satisfy it). */
export interface PeerStream {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  close(): void;
}

/** Options of {@linkcode PeerTransport}. */
export interface PeerTransportOptions {
  /** Called for every decoded inbound message. */
  readonly onMessage: (message: Message) => void;
  /** Opens a connection to a peer address ("host:port"). Default: plaintext TCP. */
  readonly dial?: (address: string) => Promise<PeerStream>;
  /** Bytes queued per peer before new messages are dropped. Default 16 MiB. */
  readonly queueBytesMax?: number;
  /** Wait after a failed dial or write before dialing that peer again. Default 100 ms. */
  readonly redialMs?: number;
  /** The clock redial waits are measured on. Default `Date.now`. */
  readonly nowMs?: () => number;
}

/** Plaintext TCP dial of "host:port". */
export async function dialTcp(address: string): Promise<PeerStream> {
  const colon = address.lastIndexOf(":");
  const conn = await Deno.connect({
    hostname: address.slice(0, colon),
    port: Number(address.slice(colon + 1)),
  });
  conn.setNoDelay(true);
  return conn;
}

class PeerLink {
  readonly address: string;
  #queue: Uint8Array[] = [];
  #queuedBytes = 0;
  #stream: PeerStream | null = null;
  #writer: WritableStreamDefaultWriter<Uint8Array> | null = null;
  #running: Promise<void> | null = null;
  #retryAtMs = 0;
  closed = false;
  readonly #options: Required<Omit<PeerTransportOptions, "onMessage">>;

  constructor(address: string, options: Required<Omit<PeerTransportOptions, "onMessage">>) {
    this.address = address;
    this.#options = options;
  }

  enqueue(frame: Uint8Array): void {
    if (this.closed || this.#options.nowMs() < this.#retryAtMs) return;
    if (this.#queuedBytes + frame.length > this.#options.queueBytesMax) return;
    this.#queue.push(frame);
    this.#queuedBytes += frame.length;
    if (this.#running === null) this.#running = this.#run();
  }

  async #run(): Promise<void> {
    try {
      while (this.#queue.length > 0 && !this.closed) {
        if (this.#writer === null) {
          this.#stream = await this.#options.dial(this.address);
          if (this.closed) break;
          this.#writer = this.#stream.writable.getWriter();
        }
        const batch = concat(this.#queue);
        this.#queue = [];
        this.#queuedBytes = 0;
        await this.#writer.write(batch);
      }
    } catch {
      this.#queue = [];
      this.#queuedBytes = 0;
      this.#retryAtMs = this.#options.nowMs() + this.#options.redialMs;
      this.#drop();
    } finally {
      this.#running = null;
      if (this.closed) this.#drop();
    }
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
  readonly #options: Required<PeerTransportOptions>;
  readonly #links = new Map<NodeId, PeerLink>();
  readonly #inbound = new Map<PeerStream, ReadableStreamDefaultReader<Uint8Array>>();
  readonly #readers = new Set<Promise<void>>();
  #listener: Deno.Listener | null = null;
  #acceptLoop: Promise<void> | null = null;
  #closed = false;
  #closing: Promise<void>[] = [];

  constructor(options: PeerTransportOptions) {
    this.#options = {
      dial: dialTcp,
      queueBytesMax: 16 << 20,
      redialMs: 100,
      nowMs: Date.now,
      ...options,
    };
  }

  /** Listens for peer connections on a TCP address; returns the bound port. */
  listen(address: { hostname: string; port: number }): { port: number } {
    const listener = Deno.listen(address);
    this.#listener = listener;
    this.#acceptLoop = (async () => {
      try {
        for await (const conn of listener) this.accept(conn);
      } catch {
        // listener closed
      }
    })();
    return { port: (listener.addr as Deno.NetAddr).port };
  }

  /** Serves an inbound connection that someone else accepted (multiplexer, TLS listener). */
  accept(stream: PeerStream): void {
    if (this.#closed) return closeQuietly(stream);
    const reader = stream.readable.getReader();
    this.#inbound.set(stream, reader);
    const done = this.#read(reader).finally(() => {
      this.#inbound.delete(stream);
      this.#readers.delete(done);
      reader.releaseLock();
      closeQuietly(stream);
    });
    this.#readers.add(done);
  }

  async #read(reader: ReadableStreamDefaultReader<Uint8Array>): Promise<void> {
    const splitter = new FrameSplitter();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        for (const body of splitter.push(value)) this.#options.onMessage(decodeBody(body));
      }
    } catch (error) {
      // A broken or garbled connection is dropped; Raft retries over a fresh one.
      if (!(error instanceof CodecError) && !isConnectionError(error)) throw error;
    }
  }

  /** Sets (or changes) where a peer listens. */
  setPeer(id: NodeId, address: string): void {
    const existing = this.#links.get(id);
    if (existing?.address === address) return;
    if (existing !== undefined) this.#closing.push(existing.close());
    this.#links.set(id, new PeerLink(address, this.#options));
  }

  /** Forgets a peer and closes its connection. */
  removePeer(id: NodeId): void {
    const existing = this.#links.get(id);
    if (existing !== undefined) this.#closing.push(existing.close());
    this.#links.delete(id);
  }

  /** Queues a message for its recipient; unknown recipients and full queues drop it. */
  send(message: Message): void {
    if (this.#closed) return;
    this.#links.get(message.to)?.enqueue(encodeFrame(message));
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
