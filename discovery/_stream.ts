/**
 * Length-prefixed frames over TCP with real deadlines, for push/pull exchanges.
 *
 * Deno 2.8.3 quirk this file exists for: `Deno.Conn.close()` neither aborts a pending
 * `read()` nor releases the descriptor until that read completes (the peer must send or
 * close first). So:
 * - the client side uses node:net, whose `destroy()` really closes the socket, even while
 *   connecting;
 * - the server side (a `Deno.Conn` from our own accept loop, which survives EMFILE where
 *   node:net's does not) races every read and write against a deadline, closes the
 *   connection when it fires, and reports when the descriptor is really free, so the
 *   listener's connection cap counts descriptors, not hopes.
 *
 * Frames are read incrementally: memory grows with the bytes a peer actually sent, never
 * with the length it declares, and a declared length over `frameBytesMax` ends the
 * connection before any body byte is read. Nothing here is authenticated yet: the bound
 * is what keeps an unauthenticated peer cheap.
 * @module
 */

import net from "node:net";
import type { Buffer } from "node:buffer";
import { DiscoveryError } from "./_errors.ts";

const headerBytes = 4;
const readChunkBytes = 64 * 1024;

/** Builds a `[length u32][body]` frame. */
export function frame(body: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(headerBytes + body.length);
  new DataView(bytes.buffer).setUint32(0, body.length);
  bytes.set(body, headerBytes);
  return bytes;
}

/**
 * Collects one frame from chunks as they arrive. `push` returns the frame once complete
 * and throws `TOO_LARGE` as soon as the header declares more than `frameBytesMax`. Bytes
 * are copied into one buffer that doubles as needed, so memory stays under twice what the
 * peer really sent, however it splits its bytes (one-byte reads included).
 */
export class FrameAssembler {
  readonly #frameBytesMax: number;
  #bytes = new Uint8Array(256);
  #receivedBytes = 0;
  #bodyBytes = -1;

  constructor(frameBytesMax: number) {
    this.#frameBytesMax = frameBytesMax;
  }

  /** Bytes held so far (header included). */
  get receivedBytes(): number {
    return this.#receivedBytes;
  }

  /** Bytes of buffer currently allocated. */
  get capacityBytes(): number {
    return this.#bytes.length;
  }

  /** Adds a copy of `chunk`; returns the body once the whole frame arrived, else null. */
  push(chunk: Uint8Array): Uint8Array | null {
    const neededBytes = this.#receivedBytes + chunk.length;
    const limitBytes = this.#bodyBytes < 0 ? Infinity : headerBytes + this.#bodyBytes;
    if (neededBytes > limitBytes) {
      throw new DiscoveryError("MALFORMED_PACKET", "Cannot read frame: bytes after its end");
    }
    if (neededBytes > this.#bytes.length) {
      let capacity = this.#bytes.length;
      while (capacity < neededBytes) capacity *= 2;
      const grown = new Uint8Array(Math.min(capacity, Math.max(neededBytes, limitBytes)));
      grown.set(this.#bytes.subarray(0, this.#receivedBytes));
      this.#bytes = grown;
    }
    this.#bytes.set(chunk, this.#receivedBytes);
    this.#receivedBytes = neededBytes;
    if (this.#bodyBytes < 0 && this.#receivedBytes >= headerBytes) {
      this.#bodyBytes = new DataView(this.#bytes.buffer).getUint32(0);
      if (this.#bodyBytes > this.#frameBytesMax) {
        throw new DiscoveryError(
          "TOO_LARGE",
          `Cannot read a ${this.#bodyBytes}-byte frame: at most ${this.#frameBytesMax} bytes ` +
            `(membersMax bounds a push/pull)`,
        );
      }
      if (this.#receivedBytes > headerBytes + this.#bodyBytes) {
        throw new DiscoveryError("MALFORMED_PACKET", "Cannot read frame: bytes after its end");
      }
    }
    if (this.#bodyBytes < 0 || this.#receivedBytes < headerBytes + this.#bodyBytes) return null;
    return this.#bytes.slice(headerBytes, headerBytes + this.#bodyBytes);
  }
}

function splitHostPort(address: string): { host: string; port: number } {
  const colon = address.lastIndexOf(":");
  return {
    host: address.slice(0, colon).replace(/^\[|\]$/g, ""),
    port: Number(address.slice(colon + 1)),
  };
}

/** A client exchange in flight; `cancel()` destroys its socket at once. */
export interface Exchange {
  /** The reply's body. */
  readonly reply: Promise<Uint8Array>;
  /** Ends the exchange now (node closing); the reply rejects with `CLOSED`. */
  cancel(): void;
}

/**
 * Connects to `address`, sends `request` as one frame and reads one frame back, all
 * within `timeoutMs` (connect included). The socket is destroyed on every outcome.
 */
export function exchangeFrame(
  address: string,
  request: Uint8Array,
  limits: { timeoutMs: number; frameBytesMax: number },
): Exchange {
  const { host, port } = splitHostPort(address);
  const socket = net.createConnection({ host, port });
  const assembler = new FrameAssembler(limits.frameBytesMax);
  let settle: (error: Error | null, body?: Uint8Array) => void = () => {};
  const reply = new Promise<Uint8Array>((resolve, reject) => {
    const timer = setTimeout(() => {
      settle(
        new DiscoveryError(
          "TIMEOUT",
          `Cannot exchange state with ${address}: no reply within ${limits.timeoutMs} ms`,
        ),
      );
    }, limits.timeoutMs);
    let done = false;
    settle = (error, body) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      if (error === null) resolve(body as Uint8Array);
      else reject(error);
    };
  });
  socket.on("connect", () => socket.write(frame(request)));
  socket.on("data", (chunk: Buffer) => {
    try {
      const body = assembler.push(new Uint8Array(chunk));
      if (body !== null) settle(null, body);
    } catch (error) {
      settle(error as Error);
    }
  });
  socket.on("error", (error: Error) => {
    settle(new DiscoveryError("JOIN_FAILED", `Cannot reach ${address}: ${error.message}`));
  });
  socket.on("close", () => {
    settle(
      new DiscoveryError(
        "MALFORMED_PACKET",
        `Cannot read reply from ${address}: stream ended after ${assembler.receivedBytes} bytes`,
      ),
    );
  });
  return {
    reply,
    cancel: () => settle(new DiscoveryError("CLOSED", `Cannot finish exchange with ${address}`)),
  };
}

/**
 * The server side of one stream connection. Every read and write is raced against one
 * deadline; when it fires (or `abort()` is called) the connection is closed. `released`
 * resolves once the descriptor is really free: after the last pending read returned.
 */
export class ServerStream {
  readonly #conn: Deno.Conn;
  readonly #deadline: Promise<never>;
  readonly #timer: ReturnType<typeof setTimeout>;
  #fire: (error: Error) => void = () => {};
  #pendingRead: Promise<unknown> | null = null;
  #closed = false;

  constructor(conn: Deno.Conn, timeoutMs: number) {
    this.#conn = conn;
    this.#deadline = new Promise<never>((_, reject) => {
      this.#fire = reject;
    });
    this.#deadline.catch(() => {});
    this.#timer = setTimeout(() => {
      this.abort(
        new DiscoveryError("TIMEOUT", `Cannot finish a push/pull within ${timeoutMs} ms`),
      );
    }, timeoutMs);
  }

  /** Ends the stream now: pending reads and writes reject with `error`. */
  abort(error: Error): void {
    this.#fire(error);
    this.close();
  }

  /** Reads one frame of at most `frameBytesMax` bytes. */
  async readFrame(frameBytesMax: number): Promise<Uint8Array> {
    const assembler = new FrameAssembler(frameBytesMax);
    // One scratch buffer per stream: the assembler copies what each read returned.
    const buffer = new Uint8Array(readChunkBytes);
    for (let readsMax = frameBytesMax + headerBytes + 1; readsMax > 0; readsMax--) {
      const read = this.#conn.read(buffer);
      this.#pendingRead = read.catch(() => null);
      const count = await Promise.race([read, this.#deadline]);
      this.#pendingRead = null;
      if (count === null) {
        throw new DiscoveryError(
          "MALFORMED_PACKET",
          `Cannot read frame: stream ended after ${assembler.receivedBytes} bytes`,
        );
      }
      const body = assembler.push(buffer.subarray(0, count));
      if (body !== null) return body;
    }
    throw new DiscoveryError("MALFORMED_PACKET", "Cannot read frame: too many reads");
  }

  /** Writes `body` as one frame. */
  async writeFrame(body: Uint8Array): Promise<void> {
    const bytes = frame(body);
    let written = 0;
    while (written < bytes.length) {
      written += await Promise.race([this.#conn.write(bytes.subarray(written)), this.#deadline]);
    }
  }

  /** Closes the connection; idempotent. */
  close(): void {
    clearTimeout(this.#timer);
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#conn.close();
    } catch {
      // Already closed by the runtime: nothing left to release.
    }
  }

  /** Resolves when the descriptor is free (no read left pending on it). */
  released(): Promise<void> {
    return (this.#pendingRead ?? Promise.resolve()).then(() => {});
  }
}
