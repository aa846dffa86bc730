/**
 * A node:stream Duplex over a `Deno.TcpConn` accepted by Strand's own accept loop, handed to
 * grpc-js (its connection injector), to node:http (`emit("connection")`) or to node:tls.
 *
 * Why not node:net: on Deno 2.8.3 a node:net server's accept loop ends for good at the first
 * EMFILE, silently; a `Deno.listen` loop survives it (see _listener.ts). This class is what
 * lets the node libraries run on connections we accepted ourselves.
 *
 * It also knows what a node:net socket hides: how many bytes were handed to it and not yet
 * taken by the kernel ({@linkcode ConnSocket.unflushedBytes}). The HTTP/2 send-window account
 * uses that to bound what a connection buffers whatever window its client grants.
 *
 * Writes are corked for the rest of the event-loop turn they start in: the answers of many
 * calls settled together (one group commit) leave in one kernel write.
 *
 * Reading goes through `conn.readable`'s reader, because in Deno 2.8.3 `conn.close()` does
 * not end a pending `conn.read()`: cancelling the reader does (see {@linkcode closeConn}).
 * @module
 */
import { Duplex } from "node:stream";
import { Buffer } from "node:buffer";

/** The reader of an accepted connection's bytes (BYOB: we choose the buffer size). */
export type ConnReader = ReadableStreamBYOBReader;

/** Smallest and largest read buffer: an idle connection holds only the smallest. */
const readBytesMin = 4 * 1024;
const readBytesMax = 64 * 1024;

/**
 * Reads the next chunk into a buffer of `size` bytes (null at the end). Why BYOB: a pending
 * read holds its buffer, and thousands of idle connections each holding 64 KiB is most of
 * what they cost.
 */
export async function readChunk(
  reader: ConnReader,
  sizeOrBuffer: number | Uint8Array,
): Promise<Uint8Array | null> {
  const buffer = typeof sizeOrBuffer === "number" ? new Uint8Array(sizeOrBuffer) : sizeOrBuffer;
  const { value, done } = await reader.read(buffer);
  return done || value === undefined ? null : value;
}

/** Called after bytes reached the kernel (a waiter can re-check its bound). */
export type FlushListener = () => void;

/** A node-style socket over a `Deno.TcpConn`. */
export class ConnSocket extends Duplex {
  /** Bytes read from the connection. */
  bytesRead = 0;
  /** Bytes the kernel took (completed `conn.write`s). */
  bytesFlushed = 0;
  /** Bytes handed to this socket for writing (counted when written, before the kernel). */
  bytesQueued = 0;
  /** When bytes last went in or out (performance.now() ms). */
  lastActivityMs = performance.now();
  /** Requests in progress on this connection (kept by the HTTP server; idle checks). */
  activeRequests = 0;
  /** Requests begun on this connection. */
  requestsSeen = 0;
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly remoteFamily: string;
  readonly localAddress: string;
  readonly localPort: number;
  readonly #conn: Deno.TcpConn;
  readonly #reader: ConnReader;
  #readBytes = readBytesMin;
  /** The last read's buffer, read into again while its size is still the one wanted. */
  #readBuffer: Uint8Array | null = null;
  readonly #flushListeners = new Set<FlushListener>();
  #initial: Uint8Array | null;
  #reading = false;
  #corkedForTurn = false;
  readonly #uncorkTurn = () => {
    this.#corkedForTurn = false;
    this.uncork();
  };
  #timeoutMs = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #lastActivityMs = 0;
  // Outgoing TLS record scan (see countTlsPayload): header bytes seen, payload left to skip.
  #tlsOverheadBytes = -1;
  #tlsHeader: number[] = [];
  #tlsSkip = 0;
  /** Plaintext bytes of the TLS application-data records the kernel took (if counted). */
  tlsPayloadFlushed = 0;

  /**
   * @param conn the accepted connection
   * @param reader the reader of `conn.readable` (the caller may have read bytes already)
   * @param initial bytes already read from `reader`, delivered first
   */
  constructor(
    conn: Deno.TcpConn,
    reader: ConnReader,
    initial: Uint8Array | null,
  ) {
    super({ allowHalfOpen: false });
    this.#conn = conn;
    this.#reader = reader;
    this.#initial = initial && initial.length > 0 ? initial : null;
    const remote = conn.remoteAddr as Deno.NetAddr;
    const local = conn.localAddr as Deno.NetAddr;
    this.remoteAddress = remote.hostname;
    this.remotePort = remote.port;
    this.remoteFamily = remote.hostname.includes(":") ? "IPv6" : "IPv4";
    this.localAddress = local.hostname;
    this.localPort = local.port;
  }

  /** node:net's connection state (node:http keeps a connection alive only when "open"). */
  get readyState(): "open" | "readOnly" | "writeOnly" | "closed" {
    if (this.destroyed) return "closed";
    if (this.readable && this.writable) return "open";
    return this.readable ? "readOnly" : this.writable ? "writeOnly" : "closed";
  }

  /** node:net's: whether the connection is still being made (never: it was accepted). */
  readonly connecting = false;

  /** Ends the connection once what was written is flushed. */
  destroySoon(): void {
    if (this.writable) this.end();
    if (this.writableFinished) this.destroy();
    else this.once("finish", () => this.destroy());
  }

  /** Bytes handed to the socket that the kernel has not taken yet. */
  get unflushedBytes(): number {
    return this.bytesQueued - this.bytesFlushed;
  }

  /** This socket itself (node:http2 hands out proxies of its socket; private fields need it). */
  self(): ConnSocket {
    return this;
  }

  /**
   * Counts, from now on, the plaintext of the TLS application-data records written
   * ({@linkcode tlsPayloadFlushed}): each record's length minus `overheadBytes` (17 for
   * TLS 1.3 AEAD: tag and content type; 24 for TLS 1.2 AES-GCM: nonce and tag).
   */
  countTlsPayload(overheadBytes: number): void {
    if (this.#tlsOverheadBytes < 0) this.#tlsOverheadBytes = overheadBytes;
  }

  #scanTls(bytes: Uint8Array): void {
    for (let at = 0; at < bytes.length;) {
      if (this.#tlsSkip > 0) {
        const n = Math.min(this.#tlsSkip, bytes.length - at);
        this.#tlsSkip -= n;
        at += n;
        continue;
      }
      this.#tlsHeader.push(bytes[at++]!);
      if (this.#tlsHeader.length < 5) continue;
      const [type, , , high, low] = this.#tlsHeader as [number, number, number, number, number];
      this.#tlsSkip = (high << 8) | low;
      if (type === 0x17) {
        this.tlsPayloadFlushed += Math.max(0, this.#tlsSkip - this.#tlsOverheadBytes);
      }
      this.#tlsHeader = [];
    }
  }

  /** Calls `listener` after every write the kernel completed, until removed. */
  onFlush(listener: FlushListener): () => void {
    this.#flushListeners.add(listener);
    return () => this.#flushListeners.delete(listener);
  }

  override _read(): void {
    if (this.#reading) return;
    this.#reading = true;
    void this.#pump();
  }

  async #pump(): Promise<void> {
    try {
      for (;;) {
        let chunk = this.#initial;
        this.#initial = null;
        if (chunk === null) {
          const size = this.#readBytes;
          const reused = this.#readBuffer?.byteLength === size ? this.#readBuffer : null;
          this.#readBuffer = null;
          const read = await readChunk(this.#reader, reused ?? size);
          if (read === null) {
            this.push(null);
            return;
          }
          // A full buffer asks for a larger one; a small read lets it shrink back.
          if (read.length === size) this.#readBytes = Math.min(readBytesMax, size * 2);
          else if (read.length < size / 4) this.#readBytes = Math.max(readBytesMin, size / 2);
          // The bytes leave in a copy of their own size (from Buffer's pool when small), so
          // the read buffer is read into again instead of a new one being allocated and
          // zeroed per read, and what the reader above keeps holds no unused buffer space.
          chunk = Buffer.from(read);
          this.#readBuffer = new Uint8Array(read.buffer);
        }
        this.bytesRead += chunk.length;
        this.#touch();
        const more = this.push(
          chunk instanceof Buffer
            ? chunk
            : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length),
        );
        if (!more) {
          this.#reading = false;
          return;
        }
      }
    } catch (error) {
      this.destroy(error as Error);
    }
  }

  override _write(
    chunk: Uint8Array,
    _encoding: string,
    callback: (error?: Error | null) => void,
  ): void {
    this.#writeAll(chunk).then(() => callback(), (error) => callback(error as Error));
  }

  override _writev(
    chunks: { chunk: Uint8Array }[],
    callback: (error?: Error | null) => void,
  ): void {
    const bytes = Buffer.concat(chunks.map(({ chunk }) => chunk));
    this.#writeAll(bytes).then(() => callback(), (error) => callback(error as Error));
  }

  override write(
    chunk: Uint8Array | string,
    encoding?: BufferEncoding | ((error?: Error | null) => void),
    callback?: (error?: Error | null) => void,
  ): boolean {
    this.bytesQueued += typeof chunk === "string" ? Buffer.byteLength(chunk) : chunk.byteLength;
    if (!this.#corkedForTurn && !this.writableCorked && !this.writableEnded) {
      // What the HTTP/2 session writes in one turn (many calls' answers) leaves in one write.
      this.#corkedForTurn = true;
      this.cork();
      setImmediate(this.#uncorkTurn);
    }
    // deno-lint-ignore no-explicit-any
    return super.write(chunk, encoding as any, callback);
  }

  async #writeAll(bytes: Uint8Array): Promise<void> {
    let at = 0;
    while (at < bytes.length) at += await this.#conn.write(bytes.subarray(at));
    this.bytesFlushed += bytes.length;
    if (this.#tlsOverheadBytes >= 0) this.#scanTls(bytes);
    this.#touch();
    for (const listener of this.#flushListeners) listener();
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.#conn.closeWrite().then(() => callback(), () => callback());
  }

  override _destroy(error: Error | null, callback: (error: Error | null) => void): void {
    clearTimeout(this.#timer);
    this.#timeoutMs = 0;
    closeConn(this.#conn, this.#reader);
    this.bytesFlushed = this.bytesQueued; // nothing more is pending: wake every waiter
    for (const listener of this.#flushListeners) listener();
    this.#flushListeners.clear();
    callback(error);
  }

  /** node:net's inactivity timeout: 'timeout' after `ms` without bytes in or out (0: off). */
  setTimeout(ms: number, callback?: () => void): this {
    if (callback) this.once("timeout", callback);
    this.#timeoutMs = ms;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    if (ms > 0 && !this.destroyed) {
      this.#lastActivityMs = performance.now();
      this.#arm(ms);
    }
    return this;
  }

  #arm(delayMs: number): void {
    this.#timer = setTimeout(() => {
      const idleMs = performance.now() - this.#lastActivityMs;
      if (this.#timeoutMs <= 0 || this.destroyed) return;
      if (idleMs + 1 >= this.#timeoutMs) {
        this.#timer = undefined;
        this.#timeoutMs = 0; // node:net fires once; the owner re-arms
        this.emit("timeout");
      } else {
        this.#arm(this.#timeoutMs - idleMs);
      }
    }, delayMs);
  }

  #touch(): void {
    this.lastActivityMs = performance.now();
    if (this.#timeoutMs > 0) this.#lastActivityMs = this.lastActivityMs;
  }

  setNoDelay(noDelay = true): this {
    try {
      this.#conn.setNoDelay(noDelay);
    } catch {
      // closed
    }
    return this;
  }

  setKeepAlive(enable = false): this {
    try {
      this.#conn.setKeepAlive(enable);
    } catch {
      // closed
    }
    return this;
  }

  ref(): this {
    return this;
  }

  unref(): this {
    return this;
  }

  address(): { address: string; port: number; family: string } {
    return { address: this.localAddress, port: this.localPort, family: this.remoteFamily };
  }
}

/**
 * Closes an accepted connection whose reader may have a read pending. On Deno 2.8.3 neither
 * `conn.close()` nor cancelling the reader ends the pending read in the runtime, and the
 * descriptor stays open until the peer sends or closes: shutting down our side first sends
 * FIN, so the peer sees the end at once and a well-behaved one closes too.
 */
export function closeConn(conn: Deno.TcpConn, reader: ConnReader): void {
  conn.closeWrite().catch(() => {}).finally(() => {
    reader.cancel().catch(() => {});
    try {
      conn.close();
    } catch {
      // already closed by the reader's cancel
    }
  });
}
