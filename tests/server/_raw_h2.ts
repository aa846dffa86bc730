/**
 * A hand-driven HTTP/2 client for flow-control tests: it grants credit (WINDOW_UPDATE) only
 * when told to, which no library client lets a test control. Plaintext or TLS (ALPN h2).
 */
import * as net from "node:net";
import * as tls from "node:tls";
import { log } from "../../proto/gen/log.js";

const preface = new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
const DATA = 0x0, HEADERS = 0x1, RST_STREAM = 0x3, SETTINGS = 0x4, PING = 0x6;
const WINDOW_UPDATE = 0x8;
const END_STREAM = 0x1, END_HEADERS = 0x4, ACK = 0x1;

function frame(type: number, flags: number, stream: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(9 + payload.length);
  const view = new DataView(out.buffer);
  view.setUint32(0, payload.length << 8);
  out[3] = type;
  out[4] = flags;
  view.setUint32(5, stream & 0x7fff_ffff);
  out.set(payload, 9);
  return out;
}

/** HPACK literal header fields without indexing, no Huffman (names and values < 127 bytes). */
function headerBlock(headers: [string, string][]): Uint8Array {
  const bytes: number[] = [];
  const encoder = new TextEncoder();
  for (const [name, value] of headers) {
    bytes.push(0x00);
    for (const text of [name, value]) {
      const encoded = encoder.encode(text);
      bytes.push(encoded.length, ...encoded);
    }
  }
  return new Uint8Array(bytes);
}

export interface RawH2Options {
  port: number;
  /** Connect with TLS (server name "localhost", ALPN h2) trusting these CA certificates. */
  caCerts?: string[];
  /** Answer PINGs with their ACK, as RFC 9113 §6.7 requires (default true). */
  ackPings?: boolean;
}

interface MessageCount {
  prefix: number[];
  bodyLeft: number;
  messages: number;
}

/** One HTTP/2 connection that reads everything but grants no credit unless asked. */
export class RawH2Client {
  /** DATA payload bytes received, by stream. */
  readonly received = new Map<number, number>();
  /** Whether the connection ended. */
  closed = false;
  /** RST_STREAM error codes received, by stream. */
  readonly resets = new Map<number, number>();
  /** PINGs received, and for each the DATA bytes (all streams) read before it. */
  readonly pings: number[] = [];
  /** DATA payload bytes received on all streams. */
  receivedTotal = 0;
  #ackPings: boolean;
  #socket: net.Socket;
  /** The TCP socket under TLS (pausing it stops reading at the TCP level). */
  #raw: net.Socket;
  #closedEvent: Promise<void>;
  #pending = new Uint8Array(0);
  #counts = new Map<number, MessageCount>();

  private constructor(socket: net.Socket, raw: net.Socket, ackPings: boolean) {
    this.#ackPings = ackPings;
    this.#socket = socket;
    this.#raw = raw;
    this.#closedEvent = new Promise((resolve) => socket.once("close", () => resolve()));
    socket.on("close", () => this.closed = true);
    socket.on("error", () => {}); // a reset by the server ends the test's connection
    socket.on("data", (chunk: Uint8Array) => this.#onData(chunk));
  }

  static async connect(options: RawH2Options): Promise<RawH2Client> {
    const raw = net.connect({ host: "127.0.0.1", port: options.port });
    await new Promise<void>((resolve, reject) => {
      raw.once("connect", () => resolve());
      raw.once("error", reject);
    });
    const socket = options.caCerts
      ? tls.connect({
        socket: raw,
        servername: "localhost",
        ca: options.caCerts,
        ALPNProtocols: ["h2"],
      })
      : raw;
    if (options.caCerts) {
      await new Promise<void>((resolve, reject) => {
        socket.once("secureConnect", () => resolve());
        socket.once("error", reject);
      });
    }
    const client = new RawH2Client(socket, raw, options.ackPings ?? true);
    client.#write(preface);
    client.#write(frame(SETTINGS, 0, 0, new Uint8Array(0)));
    return client;
  }

  /** Opens ConsumeStream on `stream` (default 1) from `offset` (no limit: it tails). */
  consumeStream(offset: number, authority: string, stream = 1): number {
    const headers = headerBlock([
      [":method", "POST"],
      [":scheme", "http"],
      [":path", "/log.v1.Log/ConsumeStream"],
      [":authority", authority],
      ["content-type", "application/grpc"],
      ["te", "trailers"],
    ]);
    const request = log.v1.ConsumeRequest.encode({ offset }).finish();
    const message = new Uint8Array(5 + request.length);
    new DataView(message.buffer).setUint32(1, request.length);
    message.set(request, 5);
    this.#write(frame(HEADERS, END_HEADERS, stream, headers));
    this.#write(frame(DATA, END_STREAM, stream, message));
    return stream;
  }

  /** gRPC messages received whole on `stream`. */
  messages(stream: number): number {
    return this.#counts.get(stream)?.messages ?? 0;
  }

  /** Grants `increment` bytes of credit to `stream` (0: the connection). */
  grant(stream: number, increment: number): void {
    const payload = new Uint8Array(4);
    new DataView(payload.buffer).setUint32(0, increment);
    this.#write(frame(WINDOW_UPDATE, 0, stream, payload));
  }

  /** Stops reading the socket (the server's writes then pile up wherever it buffers them). */
  stopReading(): void {
    this.#socket.pause();
    this.#raw.pause();
  }

  /** Reads the socket again. */
  resumeReading(): void {
    this.#raw.resume();
    this.#socket.resume();
  }

  /** Grants the largest window HTTP/2 allows: SETTINGS initial window and connection credit. */
  grantHugeWindow(): void {
    const settings = new Uint8Array(6);
    const view = new DataView(settings.buffer);
    view.setUint16(0, 0x4); // SETTINGS_INITIAL_WINDOW_SIZE
    view.setUint32(2, 0x7fff_ffff);
    this.#write(frame(SETTINGS, 0, 0, settings));
    this.grant(0, 0x7fff_ffff - 65_535);
  }

  /** Drops the connection and waits until it is closed. */
  async close(): Promise<void> {
    this.#socket.destroy();
    await this.#closedEvent;
  }

  #write(bytes: Uint8Array): void {
    this.#socket.write(bytes);
  }

  #onData(chunk: Uint8Array): void {
    const joined = new Uint8Array(this.#pending.length + chunk.length);
    joined.set(this.#pending);
    joined.set(chunk, this.#pending.length);
    let at = 0;
    while (joined.length - at >= 9) {
      const length = (joined[at]! << 16) | (joined[at + 1]! << 8) | joined[at + 2]!;
      if (joined.length - at < 9 + length) break;
      const type = joined[at + 3]!, flags = joined[at + 4]!;
      const stream = new DataView(joined.buffer, at + 5, 4).getUint32(0) & 0x7fff_ffff;
      if (type === DATA) this.#onDataFrame(stream, joined.subarray(at + 9, at + 9 + length));
      if (type === RST_STREAM && length === 4) {
        this.resets.set(stream, new DataView(joined.buffer, at + 9, 4).getUint32(0));
      }
      if (type === SETTINGS && (flags & ACK) === 0) {
        this.#write(frame(SETTINGS, ACK, 0, new Uint8Array(0)));
      }
      if (type === PING && (flags & ACK) === 0 && length === 8) {
        this.pings.push(this.receivedTotal);
        if (this.#ackPings) this.#write(frame(PING, ACK, 0, joined.slice(at + 9, at + 17)));
      }
      at += 9 + length;
    }
    this.#pending = joined.slice(at);
  }

  #onDataFrame(stream: number, payload: Uint8Array): void {
    this.received.set(stream, (this.received.get(stream) ?? 0) + payload.length);
    this.receivedTotal += payload.length;
    let count = this.#counts.get(stream);
    if (!count) this.#counts.set(stream, count = { prefix: [], bodyLeft: 0, messages: 0 });
    for (let at = 0; at < payload.length;) {
      if (count.bodyLeft > 0) {
        const n = Math.min(count.bodyLeft, payload.length - at);
        count.bodyLeft -= n;
        at += n;
        if (count.bodyLeft === 0) count.messages++;
        continue;
      }
      count.prefix.push(payload[at++]!);
      if (count.prefix.length === 5) {
        const [, a, b, c, d] = count.prefix as [number, number, number, number, number];
        count.bodyLeft = ((a << 24) | (b << 16) | (c << 8) | d) >>> 0;
        count.prefix = [];
        if (count.bodyLeft === 0) count.messages++;
      }
    }
  }
}

/** Options of {@linkcode openStalledConsumer}. */
export interface StalledConsumerOptions extends RawH2Options {
  /** Grant the largest window HTTP/2 allows (SETTINGS + connection WINDOW_UPDATE). */
  hugeWindow: boolean;
  /** ConsumeStreams to open on the connection (ids 1, 3, 5…). */
  streams?: number;
  /** Where every stream starts (default 0). */
  offset?: number;
}

/**
 * A client that opens ConsumeStreams and then never reads its socket: a Deno connection
 * (plaintext or TLS with ALPN h2) that only writes, so the server's bytes stay in the
 * kernel buffers and then in the server. Close it with `conn.close()`.
 */
export async function openStalledConsumer(
  options: StalledConsumerOptions,
): Promise<Deno.TcpConn | Deno.TlsConn> {
  const conn = options.caCerts
    ? await Deno.connectTls({
      hostname: "localhost",
      port: options.port,
      caCerts: options.caCerts,
      alpnProtocols: ["h2"],
    })
    : await Deno.connect({ hostname: "127.0.0.1", port: options.port });
  const parts: Uint8Array[] = [preface];
  if (options.hugeWindow) {
    const settings = new Uint8Array(6);
    new DataView(settings.buffer).setUint16(0, 0x4); // SETTINGS_INITIAL_WINDOW_SIZE
    new DataView(settings.buffer).setUint32(2, 0x7fff_ffff);
    parts.push(frame(SETTINGS, 0, 0, settings));
    const credit = new Uint8Array(4);
    new DataView(credit.buffer).setUint32(0, 0x7fff_ffff - 65_535);
    parts.push(frame(WINDOW_UPDATE, 0, 0, credit));
  } else {
    parts.push(frame(SETTINGS, 0, 0, new Uint8Array(0)));
  }
  const request = log.v1.ConsumeRequest.encode({ offset: options.offset ?? 0 }).finish();
  const message = new Uint8Array(5 + request.length);
  new DataView(message.buffer).setUint32(1, request.length);
  message.set(request, 5);
  for (let i = 0; i < (options.streams ?? 1); i++) {
    const stream = 1 + 2 * i;
    const headers = headerBlock([
      [":method", "POST"],
      [":scheme", "http"],
      [":path", "/log.v1.Log/ConsumeStream"],
      [":authority", `localhost:${options.port}`],
      ["content-type", "application/grpc"],
      ["te", "trailers"],
    ]);
    parts.push(frame(HEADERS, END_HEADERS, stream, headers));
    parts.push(frame(DATA, END_STREAM, stream, message));
  }
  for (const part of parts) {
    for (let at = 0; at < part.length;) at += await conn.write(part.subarray(at));
  }
  return conn;
}
