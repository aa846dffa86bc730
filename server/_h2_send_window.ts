/**
 * Our own account of the HTTP/2 send windows the clients grant, so that a ConsumeStream stops
 * writing when its client stops reading.
 *
 * Why: Deno 2.8.3's node:http2 completes a stream write as soon as the bytes are queued in
 * nghttp2, before the peer's flow-control window admits them, and never reports backpressure
 * (fixed upstream by denoland/deno#36044, in a runtime we cannot pin yet). grpc-js's
 * `write()`/`'drain'` contract is therefore always "go on", and a stalled consumer would make
 * the server queue the rest of the log in native memory.
 *
 * How: every HTTP/2 session's socket is tapped from its first byte (the tap sees plaintext
 * frames, also under TLS). The tap reads only frame headers plus the payloads of SETTINGS
 * (the initial stream window) and WINDOW_UPDATE (credit), and skips everything else. A
 * tracked stream counts the DATA bytes it writes (5-byte gRPC prefix + message); its backlog
 * is what it wrote beyond the credit the client granted, for the stream or for the
 * connection. Both are lower bounds of what really waits in the server (other streams'
 * bytes are not counted), so the account can under-state a backlog but never stall a stream
 * whose client reads. Waiting for credit is woken by the WINDOW_UPDATE frame itself.
 *
 * If the tap meets bytes it does not understand it gives up: the window part of every
 * backlog reads 0 and the stream falls back to grpc-js's own write()/'drain'.
 *
 * The window alone does not bound memory: a client may grant 2^31−1 bytes and stop reading
 * its socket, and the runtime's HTTP/2 then queues everything in the server (it ignores the
 * socket's backpressure). So the backlog also counts what the connection holds that the
 * kernel has not taken ({@linkcode SocketBacklog}): on connections Strand accepted itself
 * (server/_conn_socket.ts) that is exact in plaintext, and under TLS the plaintext handed to
 * the TLS layer minus the plaintext of the records the kernel took.
 *
 * The two parts of a backlog are bounded apart ({@linkcode BacklogLimits}): bytes beyond the
 * window wait inside the runtime's native HTTP/2 session, and Deno 2.8.3 never frees what is
 * still queued there when the connection dies (measured: ~1.1 MiB of resident memory for
 * every stalled connection closed with 1 MiB beyond the window; docs/limits.md). Bytes in the
 * socket backlog are JavaScript buffers, freed with the connection.
 * @module
 */
import type { Server } from "@grpc/grpc-js";
import { innerGrpcCall } from "./_grpc_call_chain.ts";
import { ConnSocket } from "./_conn_socket.ts";

/** What a connection holds that the kernel has not taken, and a way to hear it drain. */
export interface SocketBacklog {
  /** Bytes queued in the server for this connection and not yet taken by the kernel. */
  bytes(): number;
  /** Calls `listener` whenever some bytes reached the kernel; returns the unsubscribe. */
  onFlush(listener: () => void): () => void;
}

const preface = new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
const frameHeaderBytes = 9;
const defaultWindow = 65_535;
const settingsType = 0x4;
const windowUpdateType = 0x8;
const ackFlag = 0x1;
const initialWindowSizeSetting = 0x4;
/** Largest SETTINGS payload read (the default max frame size); larger gives up the account. */
const settingsBytesMax = 16_384;

/** How far behind a stream may be: beyond its client's window, and in its socket. */
export interface BacklogLimits {
  /** Bytes written beyond the window the client granted (queued in the native session). */
  windowBytes: number;
  /** Bytes the connection holds that the kernel has not taken. */
  socketBytes: number;
  /** DATA bytes written since the last PING the client acknowledged (see the module doc). */
  unacknowledgedBytes: number;
}

/** What the account needs of a session to ask its client for read receipts. */
export interface Pinger {
  /** Sends a PING; `done` runs on its ACK (or with an error). False when it was not sent. */
  ping(done: (error: unknown) => void): boolean;
}

interface Waiter {
  limits: BacklogLimits;
  resolve(): void;
}

/** One stream's side of the account. */
export class StreamSendWindow {
  /** DATA payload bytes this stream wrote. */
  sent = 0;
  /** Credit granted by WINDOW_UPDATE frames on this stream. */
  credit = 0;
  #waiter: Waiter | null = null;

  constructor(readonly id: number, readonly session: SessionSendWindows) {}

  /** Counts `bytes` of DATA written to the stream. */
  wrote(bytes: number): void {
    this.sent += bytes;
    const before = this.session.connectionSent;
    this.session.connectionSent += bytes;
    // The receipt covers the bytes before this write only: the runtime may still hold the
    // write in its HTTP/2 session, where a PING (a control frame) overtakes DATA.
    this.session.askReceipt(before);
  }

  /** Bytes written beyond what the client allows in flight (0 when the tap gave up). */
  backlog(): number {
    return Math.max(this.windowBacklog(), this.session.backlogOfSocket());
  }

  /** Bytes written beyond the stream's or the connection's window (0 when not known). */
  windowBacklog(): number {
    return this.session.windowBacklogOf(this);
  }

  /** Bytes the stream may still write before it is further behind than `limits` allow. */
  roomWithin(limits: BacklogLimits): number {
    const ofSocket = limits.socketBytes - this.session.backlogOfSocket();
    const ofWindow = limits.windowBytes - this.session.windowShortfallOf(this);
    const ofReceipts = limits.unacknowledgedBytes - this.session.unacknowledged();
    return Math.max(0, Math.min(ofSocket, ofWindow, ofReceipts));
  }

  /** Whether the stream is no further behind than `limits` allow. */
  within(limits: BacklogLimits): boolean {
    return this.windowBacklog() <= limits.windowBytes &&
      this.session.backlogOfSocket() <= limits.socketBytes &&
      this.session.unacknowledged() <= limits.unacknowledgedBytes;
  }

  /** Resolves once the stream is within `limits`, the session ends, or `signal` aborts. */
  waitWithin(limits: BacklogLimits, signal: AbortSignal): Promise<void> {
    if (this.within(limits) || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => {
        signal.removeEventListener("abort", done);
        this.#waiter = null;
        resolve();
      };
      this.#waiter = { limits, resolve: done };
      signal.addEventListener("abort", done, { once: true });
    });
  }

  /** Wakes the waiter if the stream is within its limits (or unconditionally with `force`). */
  wake(force = false): void {
    const waiter = this.#waiter;
    if (waiter && (force || this.within(waiter.limits))) waiter.resolve();
  }

  /** Stops tracking the stream. */
  release(): void {
    this.wake(true);
    this.session.streams.delete(this.id);
  }
}

/** The account of one HTTP/2 session, fed with the bytes the client sends. */
export class SessionSendWindows {
  /** Tracked streams by id. */
  readonly streams = new Map<number, StreamSendWindow>();
  /** DATA bytes written by tracked streams (a lower bound of the connection's). */
  connectionSent = 0;
  #initialStreamWindow = defaultWindow;
  #connectionCredit = defaultWindow;
  #gaveUp = false;
  #ended = false;
  // Parser state: preface bytes still expected, payload bytes to skip, the frame being read.
  #prefaceAt = 0;
  #skip = 0;
  #header = new Uint8Array(frameHeaderBytes);
  #headerAt = 0;
  #payload: Uint8Array | null = null;
  #payloadAt = 0;
  #frameType = 0;
  #frameStream = 0;
  #socket: SocketBacklog | null = null;
  #pinger: Pinger | null = null;
  /** Unacknowledged bytes at which a PING is sent (half the limit; 0: no receipts). */
  #pingAtBytes = 0;
  /** `connectionSent` when the last acknowledged PING was sent. */
  #acknowledged = 0;
  #pingOutstanding = false;

  /**
   * Asks the client for a read receipt (an HTTP/2 PING) once `pingAtBytes` were written since
   * the last one it acknowledged; without this, {@linkcode unacknowledged} reads 0.
   */
  attachPinger(pinger: Pinger, pingAtBytes: number): void {
    this.#pinger = pinger;
    this.#pingAtBytes = pingAtBytes;
    this.#acknowledged = this.connectionSent;
  }

  /** DATA bytes written since the last PING the client acknowledged (0 when not known). */
  unacknowledged(): number {
    if (this.#pinger === null || this.#ended) return 0;
    return this.connectionSent - this.#acknowledged;
  }

  /**
   * Sends a PING if `pingAtBytes` were written since the last acknowledged one and none is
   * out; its ACK will show the client read the first `mark` bytes.
   */
  askReceipt(mark: number): void {
    const pinger = this.#pinger;
    if (pinger === null || this.#pingOutstanding || this.#ended) return;
    if (this.connectionSent - this.#acknowledged < this.#pingAtBytes) return;
    // A write larger than the gap: its own bytes may be overtaken, the rest are before it.
    if (mark <= this.#acknowledged) mark = this.connectionSent;
    this.#pingOutstanding = true;
    let sent = false;
    try {
      sent = pinger.ping((error) => this.#onReceipt(mark, error));
    } catch {
      sent = false;
    }
    if (!sent) this.#stopReceipts();
  }

  #onReceipt(mark: number, error: unknown): void {
    this.#pingOutstanding = false;
    if (error) return this.#stopReceipts();
    this.#acknowledged = Math.max(this.#acknowledged, mark);
    for (const stream of this.streams.values()) stream.wake();
    // Called in a task of its own, after the runtime serialized what was written before.
    this.askReceipt(this.connectionSent);
  }

  /** No receipts (no ping, or it failed): the window and socket parts bound streams alone. */
  #stopReceipts(): void {
    this.#pinger = null;
    this.#pingOutstanding = false;
    for (const stream of this.streams.values()) stream.wake();
  }

  /** Counts what the connection's socket holds in every backlog (see the module doc). */
  attachSocket(socket: SocketBacklog): void {
    this.#socket = socket;
    socket.onFlush(() => {
      for (const stream of this.streams.values()) stream.wake();
    });
  }

  /** Bytes the connection holds that the kernel has not taken (0 when not known). */
  socketBacklog(): number {
    return this.#socket?.bytes() ?? 0;
  }

  /** Whether the session closed (its streams can write nothing more). */
  get ended(): boolean {
    return this.#ended;
  }

  /** Whether the account still holds (false after bytes it could not parse, or the end). */
  get active(): boolean {
    return !this.#gaveUp && !this.#ended;
  }

  /** Starts tracking stream `id`. */
  track(id: number): StreamSendWindow {
    const window = new StreamSendWindow(id, this);
    this.streams.set(id, window);
    return window;
  }

  /** What the connection's socket holds, as a backlog (0 once the session ended). */
  backlogOfSocket(): number {
    return this.#ended ? 0 : Math.max(0, this.socketBacklog());
  }

  /** The larger of `stream`'s stream and connection window shortfalls (0 when not known). */
  windowBacklogOf(stream: StreamSendWindow): number {
    return Math.max(0, this.windowShortfallOf(stream));
  }

  /**
   * Bytes `stream` wrote beyond the smaller of its stream and connection windows (negative:
   * credit left; -Infinity when not known).
   */
  windowShortfallOf(stream: StreamSendWindow): number {
    if (this.#ended || this.#gaveUp) return -Infinity;
    const ofStream = stream.sent - (this.#initialStreamWindow + stream.credit);
    const ofConnection = this.connectionSent - this.#connectionCredit;
    return Math.max(ofStream, ofConnection);
  }

  /** The session closed: nothing more will drain, so every waiter goes on (and ends). */
  end(): void {
    this.#ended = true;
    for (const stream of this.streams.values()) stream.wake(true);
  }

  /** Feeds bytes the client sent, in order from the session's first byte. */
  feed(chunk: Uint8Array): void {
    let at = 0;
    while (at < chunk.length && !this.#gaveUp) {
      if (this.#prefaceAt < preface.length) {
        if (chunk[at] !== preface[this.#prefaceAt]) return this.#giveUp();
        this.#prefaceAt++;
        at++;
      } else if (this.#skip > 0) {
        const n = Math.min(this.#skip, chunk.length - at);
        this.#skip -= n;
        at += n;
      } else if (this.#payload) {
        const n = Math.min(this.#payload.length - this.#payloadAt, chunk.length - at);
        this.#payload.set(chunk.subarray(at, at + n), this.#payloadAt);
        this.#payloadAt += n;
        at += n;
        if (this.#payloadAt === this.#payload.length) {
          const payload = this.#payload;
          this.#payload = null;
          this.#onPayload(payload);
        }
      } else if (this.#headerAt === 0 && chunk.length - at >= frameHeaderBytes) {
        // The common case: a whole frame header in the chunk, read in place.
        this.#onHeader(chunk, at);
        at += frameHeaderBytes;
      } else {
        const n = Math.min(frameHeaderBytes - this.#headerAt, chunk.length - at);
        this.#header.set(chunk.subarray(at, at + n), this.#headerAt);
        this.#headerAt += n;
        at += n;
        if (this.#headerAt === frameHeaderBytes) {
          this.#headerAt = 0;
          this.#onHeader(this.#header, 0);
        }
      }
    }
  }

  #onHeader(h: Uint8Array, at: number): void {
    const length = (h[at]! << 16) | (h[at + 1]! << 8) | h[at + 2]!;
    const type = h[at + 3]!;
    const flags = h[at + 4]!;
    const stream = ((h[at + 5]! & 0x7f) << 24 | (h[at + 6]! << 16) | (h[at + 7]! << 8) |
      h[at + 8]!) >>> 0;
    this.#frameType = type;
    this.#frameStream = stream;
    const wanted = (type === windowUpdateType && length === 4) ||
      (type === settingsType && (flags & ackFlag) === 0 && length > 0);
    if (!wanted) {
      this.#skip = length;
    } else if (length > settingsBytesMax || length % (type === settingsType ? 6 : 4) !== 0) {
      this.#giveUp();
    } else {
      this.#payload = new Uint8Array(length);
      this.#payloadAt = 0;
    }
  }

  #onPayload(payload: Uint8Array): void {
    const view = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
    if (this.#frameType === windowUpdateType) {
      const increment = view.getUint32(0) & 0x7fff_ffff;
      if (this.#frameStream === 0) {
        this.#connectionCredit += increment;
        for (const stream of this.streams.values()) stream.wake();
      } else {
        const stream = this.streams.get(this.#frameStream);
        if (stream) {
          stream.credit += increment;
          stream.wake();
        }
      }
      return;
    }
    for (let at = 0; at < payload.length; at += 6) {
      if (view.getUint16(at) === initialWindowSizeSetting) {
        this.#initialStreamWindow = view.getUint32(at + 2);
        for (const stream of this.streams.values()) stream.wake();
      }
    }
  }

  #giveUp(): void {
    this.#gaveUp = true;
    for (const stream of this.streams.values()) stream.wake(true);
  }
}

type Tappable = {
  on(event: "data", listener: (chunk: Uint8Array) => void): unknown;
  self?: () => unknown;
  getProtocol?: () => string | null;
  _handle?: unknown;
};
interface Http2SessionLike {
  socket?: Tappable | null;
  once(event: "close", listener: () => void): unknown;
  ping?(callback: (error: unknown) => void): boolean;
}

/**
 * DATA bytes written since the last acknowledged PING at which the next PING is sent: half
 * the limit streams pause at (`unreadBytesMax` in _grpc_stream.ts), so that a reading client
 * has acknowledged one before its streams reach the limit.
 */
export const pingEveryBytes = 512 * 1024;

const sessions = new WeakMap<object, SessionSendWindows>();

/** Starts the account of `session`; call before it reads its first byte. */
export function tapSession(session: Http2SessionLike): SessionSendWindows {
  const windows = new SessionSendWindows();
  sessions.set(session, windows);
  session.socket?.on("data", (chunk) => windows.feed(chunk));
  session.once("close", () => windows.end());
  const backlog = session.socket
    ? socketBacklogOf(session.socket, () => windows.connectionSent)
    : null;
  if (backlog) windows.attachSocket(backlog);
  if (typeof session.ping === "function") {
    windows.attachPinger({ ping: (done) => session.ping!(done) }, pingEveryBytes);
  }
  return windows;
}

interface TlsHandle {
  _parentWrap?: { stream?: unknown };
}

/**
 * The socket backlog of an HTTP/2 session's socket: our ConnSocket itself in plaintext
 * (exact: every byte the session handed it), or, under node:tls, an estimate from the
 * ConnSocket below the TLS layer (Deno 2.8.3's TLSWrap keeps it at
 * `_handle._parentWrap.stream`). The runtime's HTTP/2 writes into the TLS layer natively, out
 * of our sight, so under TLS the backlog is the DATA the tracked streams wrote (`sent()`)
 * minus the plaintext of the records the kernel took, as a running sum clamped at 0: bytes
 * of other streams flushed while nothing of ours waits build no credit. Null when the shape
 * is not there (then only the windows bound the stream, as before).
 */
export function socketBacklogOf(socket: Tappable, sent: () => number): SocketBacklog | null {
  const plain = socket.self?.();
  if (plain instanceof ConnSocket) {
    return { bytes: () => plain.unflushedBytes, onFlush: (listener) => plain.onFlush(listener) };
  }
  const handle = socket._handle as TlsHandle | undefined;
  const under = (handle?._parentWrap?.stream as Tappable | undefined)?.self?.();
  if (!(under instanceof ConnSocket)) return null;
  under.countTlsPayload(socket.getProtocol?.() === "TLSv1.3" ? 17 : 24);
  let pending = 0;
  let lastSent = sent();
  let lastFlushed = under.tlsPayloadFlushed;
  return {
    bytes: () => {
      if (under.destroyed) return 0;
      pending = Math.max(
        0,
        pending + (sent() - lastSent) - (under.tlsPayloadFlushed - lastFlushed),
      );
      lastSent = sent();
      lastFlushed = under.tlsPayloadFlushed;
      return pending;
    },
    onFlush: (listener) => under.onFlush(listener),
  };
}

/**
 * Taps every session of a bound grpc-js server. grpc-js keeps its node:http2 servers in a
 * private map: this reaches into it (grpc-js is pinned in deno.lock), and does nothing if the
 * shape changed (streams then fall back to write()/'drain').
 */
export function tapGrpcServer(server: Server): boolean {
  const servers = (server as unknown as { http2Servers?: Map<unknown, unknown> }).http2Servers;
  if (!(servers instanceof Map)) return false;
  let tapped = false;
  for (const http2Server of servers.keys()) {
    const emitter = http2Server as {
      on?(event: "session", listener: (session: Http2SessionLike) => void): unknown;
    };
    if (typeof emitter.on !== "function") continue;
    emitter.on("session", (session) => tapSession(session));
    tapped = true;
  }
  return tapped;
}

/** What we use of a node:http2 stream. */
interface Http2StreamLike {
  id?: number;
  session?: object;
}

/** The send window of a grpc-js server call, or null when its session is not tapped. */
export function sendWindowOf(call: unknown): StreamSendWindow | null {
  const stream = innerGrpcCall(call)?.["stream"] as Http2StreamLike | undefined;
  const session = stream?.session ? sessions.get(stream.session) : undefined;
  if (!session || session.ended || typeof stream?.id !== "number") return null;
  return session.track(stream.id);
}
