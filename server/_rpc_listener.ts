/**
 * One RPC port for clients and peers (the book's cmux): Strand accepts every connection on
 * the RPC port and dispatches it by its first bytes.
 *
 * - `PRI * HTTP/2.0…` (the HTTP/2 client preface) → gRPC, plaintext.
 * - {@linkcode peerPreamble} ("STRANDP1") → a peer (Raft) connection, plaintext.
 * - A TLS ClientHello → by ALPN: {@linkcode peerAlpn} → a peer, TLS terminated here with the
 *   peer credentials (mutual TLS, the peer's verified certificate in {@linkcode PeerInfo});
 *   anything else → gRPC, TLS terminated by grpc-js with the server credentials.
 *
 * Anything else, or nothing within `handshakeTimeoutMs` (a TLS handshake must also finish in
 * that time), is closed and counted. Connection caps and the surviving accept loop come from
 * {@linkcode ConnectionListener}.
 * @module
 */
import * as tls from "node:tls";
import type { ServerCredentials } from "@grpc/grpc-js";
import { closeConn, type ConnReader, ConnSocket, readChunk } from "./_conn_socket.ts";
import { type Accepted, ConnectionListener } from "./_listener.ts";
import { handshakeTimeoutMsDefault, RateLimitedLog } from "./_conn_limits.ts";
import {
  alpnOffered,
  firstRecordBytes,
  tlsHandshakeRecord,
  tlsRecordBytesMax,
} from "./_tls_hello.ts";
import type { Logger } from "./_types.ts";

/** The first bytes of a plaintext peer connection. */
export const peerPreamble: Uint8Array = new TextEncoder().encode("STRANDP1");
/** The ALPN protocol of a TLS peer connection. */
export const peerAlpn = "strand-raft";
const h2Preface = new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
const applicationDataRecord = 0x17;

/** A connected byte stream (the shape raft/'s `PeerTransport.accept` takes). */
export interface PeerConnection {
  readonly readable: ReadableStream<Uint8Array>;
  readonly writable: WritableStream<Uint8Array>;
  close(): void;
}

/** The verified certificate of a TLS peer. */
export interface PeerCertificateInfo {
  commonName: string;
  dnsNames: string[];
  ipAddresses: string[];
}

/** What the listener knows about a peer connection. */
export interface PeerInfo {
  remoteAddress: string;
  remotePort: number;
  /** Whether the connection is mutual TLS (then `certificate` is the verified peer's). */
  tls: boolean;
  certificate?: PeerCertificateInfo;
}

/** Options of {@linkcode startRpcListener}. */
export interface RpcListenerOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  connectionsMax: number;
  /** Time a connection has to identify itself and finish its TLS handshake. */
  handshakeTimeoutMs?: number;
  logger: Logger;
  /** Whether gRPC clients use TLS (then a plaintext HTTP/2 preface is refused). */
  grpcTls: boolean;
  /** Receives every gRPC connection (raw bytes: under TLS grpc-js does the handshake). */
  onGrpcConnection(socket: ConnSocket): void;
  /** Receives every peer connection; absent: peer connections are refused. */
  onPeerConnection?: (stream: PeerConnection, info: PeerInfo) => void;
  /**
   * Peer TLS (mutual, against the peer CA): grpc-js-style credentials whose secure context
   * options are read per connection (so a reload applies to the next one). Absent: peers
   * connect in plaintext with the preamble.
   */
  peerCredentials?: ServerCredentials;
}

/** A listening RPC port. */
export interface RpcListener {
  readonly listener: ConnectionListener;
  readonly port: number;
  /** Stops accepting and closes connections not yet handed over. */
  close(): Promise<void>;
}

type Kind = "grpc" | "peer" | "tls" | "more" | "unknown";

function startsWith(bytes: Uint8Array, prefix: Uint8Array): boolean | "more" {
  const n = Math.min(bytes.length, prefix.length);
  for (let i = 0; i < n; i++) if (bytes[i] !== prefix[i]) return false;
  return bytes.length >= prefix.length ? true : "more";
}

/** What the first bytes of a connection say it is. */
export function classify(bytes: Uint8Array): Kind {
  if (bytes.length === 0) return "more";
  if (bytes[0] === tlsHandshakeRecord) return "tls";
  const peer = startsWith(bytes, peerPreamble);
  if (peer === true) return "peer";
  const grpc = startsWith(bytes, h2Preface.subarray(0, peerPreamble.length));
  if (grpc === true) return "grpc";
  return peer === "more" || grpc === "more" ? "more" : "unknown";
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const joined = new Uint8Array(a.length + b.length);
  joined.set(a);
  joined.set(b, a.length);
  return joined;
}

/** Starts the RPC port's listener. */
export function startRpcListener(options: RpcListenerOptions): RpcListener {
  const listener = new ConnectionListener({
    name: "rpc",
    host: options.host,
    port: options.port,
    connectionsMax: options.connectionsMax,
    logger: options.logger,
  });
  const dispatcher = new Dispatcher(options, listener);
  listener.start((accepted) => void dispatcher.dispatch(accepted));
  return {
    listener,
    port: listener.port,
    async close() {
      await listener.close();
      dispatcher.closePending();
    },
  };
}

class Dispatcher {
  readonly #options: RpcListenerOptions;
  readonly #listener: ConnectionListener;
  readonly #log: RateLimitedLog;
  readonly #pending = new Set<() => void>();
  #peerTlsServer: tls.Server | null | undefined;

  constructor(options: RpcListenerOptions, listener: ConnectionListener) {
    this.#options = options;
    this.#listener = listener;
    this.#log = new RateLimitedLog(options.logger);
  }

  closePending(): void {
    for (const close of [...this.#pending]) close();
  }

  async dispatch(accepted: Accepted): Promise<void> {
    const { conn, reader, release } = accepted;
    const timeoutMs = this.#options.handshakeTimeoutMs ?? handshakeTimeoutMsDefault;
    let identified = false;
    const drop = () => {
      closeConn(conn, reader);
      release();
    };
    const timer = setTimeout(() => {
      if (identified) return;
      this.#listener.stats.handshakeTimeouts++;
      this.#log.warn("handshake", "Closed an RPC connection that did not identify itself in time", {
        timeoutMs,
      });
      closeEarly();
    }, timeoutMs);
    let socket: ConnSocket | null = null;
    const closeEarly = () => {
      this.#pending.delete(closeEarly);
      clearTimeout(timer);
      if (socket) socket.destroy();
      else drop();
    };
    this.#pending.add(closeEarly);
    const done = () => {
      identified = true;
      clearTimeout(timer);
      this.#pending.delete(closeEarly);
    };
    let bytes: Uint8Array = new Uint8Array(0);
    let kind: Kind = "more";
    try {
      while (kind === "more" || kind === "tls") {
        if (kind === "tls") {
          const needed = firstRecordBytes(bytes);
          if (needed !== null && (bytes.length >= needed || bytes.length >= tlsRecordBytesMax)) {
            break;
          }
        }
        const value = await readChunk(reader, 4096);
        if (value === null) return closeEarly();
        bytes = concat(bytes, value);
        if (kind === "more") kind = classify(bytes);
      }
    } catch {
      return closeEarly();
    }
    if (!this.#pending.has(closeEarly)) return; // timed out or closed meanwhile
    const wrap = () => {
      socket = new ConnSocket(conn, reader, bytes);
      socket.once("close", release);
      return socket;
    };
    if (kind === "grpc" && !this.#options.grpcTls) {
      done();
      this.#options.onGrpcConnection(wrap());
    } else if (
      kind === "peer" && this.#options.onPeerConnection && !this.#options.peerCredentials
    ) {
      done();
      this.#options.onPeerConnection(
        plainPeer(conn, reader, bytes.subarray(peerPreamble.length), release),
        { remoteAddress: (conn.remoteAddr as Deno.NetAddr).hostname, remotePort: 0, tls: false },
      );
    } else if (kind === "tls") {
      const alpn = alpnOffered(bytes.subarray(0, firstRecordBytes(bytes) ?? bytes.length)) ?? [];
      if (
        alpn.includes(peerAlpn) && this.#options.onPeerConnection && this.#options.peerCredentials
      ) {
        this.#tlsPeer(wrap(), done);
      } else if (this.#options.grpcTls) {
        const socket = wrap();
        this.#options.onGrpcConnection(socket);
        watchHandshake(socket, done);
      } else {
        this.#refuse(kind, closeEarly);
      }
    } else {
      this.#refuse(kind, closeEarly);
    }
  }

  #refuse(kind: Kind, close: () => void): void {
    this.#listener.stats.unknownProtocol++;
    this.#log.warn(
      "protocol",
      "Closed an RPC connection that speaks no protocol this port accepts",
      { seen: kind, grpcTls: this.#options.grpcTls, peerTls: !!this.#options.peerCredentials },
    );
    close();
  }

  #tlsPeer(socket: ConnSocket, done: () => void): void {
    this.#peerTlsServer ??= this.#startPeerTlsServer();
    if (this.#peerTlsServer === null) {
      socket.destroy();
      return;
    }
    this.#peerTlsServer.emit("connection", socket);
    watchHandshake(socket, done);
  }

  /**
   * A node:tls server that only terminates peer connections handed to it: it verifies the
   * client certificate against the peer CA (a TLSSocket built by hand on Deno 2.8.3 does not)
   * and follows credential reloads for the next connections.
   */
  #startPeerTlsServer(): tls.Server | null {
    const credentials = this.#options.peerCredentials as unknown as {
      _getSecureContextOptions(): tls.SecureContextOptions | null;
      _addWatcher(watcher: (options: tls.SecureContextOptions | null) => void): void;
    };
    const contextOptions = credentials._getSecureContextOptions();
    if (contextOptions === null) {
      this.#log.warn("peer-tls", "Peer TLS has no certificate loaded: peer connections closed");
      return null;
    }
    const server = tls.createServer({
      ...contextOptions,
      requestCert: true,
      rejectUnauthorized: true,
      ALPNProtocols: [peerAlpn],
    });
    credentials._addWatcher((options) => {
      if (options) server.setSecureContext(options);
    });
    server.on("tlsClientError", (error) => {
      this.#log.warn("peer-tls", "A peer connection failed its TLS handshake", {
        error: error.message,
      });
    });
    server.on("secureConnection", (secure: tls.TLSSocket) => {
      if (!secure.authorized) {
        secure.destroy();
        return;
      }
      const under = (secure as unknown as { _handle?: { _parentWrap?: { stream?: unknown } } })
        ._handle?._parentWrap?.stream as ConnSocket | undefined;
      const info: PeerInfo = {
        remoteAddress: under?.remoteAddress ?? "",
        remotePort: under?.remotePort ?? 0,
        tls: true,
        certificate: certificateInfo(secure.getPeerCertificate()),
      };
      secure.on("error", () => secure.destroy());
      this.#options.onPeerConnection!(socketPeer(secure), info);
    });
    return server;
  }
}

/**
 * Marks the connection identified once the client sends its first application-data record:
 * after its Finished message, i.e. the handshake is over (TLS 1.2 and 1.3 alike).
 */
function watchHandshake(socket: ConnSocket, done: () => void): void {
  let skip = 0;
  let header: number[] = [];
  const onData = (chunk: Uint8Array) => {
    for (let at = 0; at < chunk.length;) {
      if (skip > 0) {
        const n = Math.min(skip, chunk.length - at);
        skip -= n;
        at += n;
        continue;
      }
      header.push(chunk[at++]!);
      if (header.length < 5) continue;
      if (header[0] === applicationDataRecord) {
        socket.off("data", onData);
        return done();
      }
      skip = (header[3]! << 8) | header[4]!;
      header = [];
    }
  };
  socket.on("data", onData);
}

function certificateInfo(certificate: tls.PeerCertificate): PeerCertificateInfo {
  const cn: unknown = certificate?.subject?.CN;
  const names = (certificate?.subjectaltname ?? "").split(",").map((name) => name.trim());
  return {
    commonName: typeof cn === "string" ? cn : "",
    dnsNames: names.filter((name) => name.startsWith("DNS:")).map((name) => name.slice(4)),
    ipAddresses: names.filter((name) => name.startsWith("IP Address:")).map((name) =>
      name.slice(11)
    ),
  };
}

/** A plaintext peer connection: the accepted conn, minus the preamble already read. */
function plainPeer(
  conn: Deno.TcpConn,
  reader: ConnReader,
  rest: Uint8Array,
  release: () => void,
): PeerConnection {
  let first: Uint8Array | null = rest.length > 0 ? rest.slice() : null;
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    closeConn(conn, reader);
    release();
  };
  const readable = new ReadableStream<Uint8Array>({
    async pull(controller) {
      if (first) {
        controller.enqueue(first);
        first = null;
        return;
      }
      try {
        const value = await readChunk(reader, 64 * 1024);
        if (value === null) {
          controller.close();
          close();
        } else controller.enqueue(value);
      } catch (error) {
        controller.error(error);
        close();
      }
    },
    cancel: close,
  });
  const writable = new WritableStream<Uint8Array>({
    async write(chunk) {
      for (let at = 0; at < chunk.length;) at += await conn.write(chunk.subarray(at));
    },
    close,
    abort: close,
  });
  return { readable, writable, close };
}

/** A peer connection over a node-style socket (the TLS socket of a peer). */
export function socketPeer(socket: tls.TLSSocket): PeerConnection {
  const close = () => {
    socket.destroy();
  };
  const readable = new ReadableStream<Uint8Array>({
    start(controller) {
      socket.on("data", (chunk: Uint8Array) => {
        controller.enqueue(new Uint8Array(chunk));
        if ((controller.desiredSize ?? 1) <= 0) socket.pause();
      });
      socket.once("end", () => {
        try {
          controller.close();
        } catch {
          // cancelled
        }
      });
      socket.once("error", (error) => {
        try {
          controller.error(error);
        } catch {
          // cancelled
        }
      });
      socket.once("close", () => {
        try {
          controller.close();
        } catch {
          // already closed or errored
        }
      });
    },
    pull() {
      socket.resume();
    },
    cancel: close,
  }, { highWaterMark: 16 });
  const writable = new WritableStream<Uint8Array>({
    write(chunk) {
      return new Promise<void>((resolve, reject) => {
        socket.write(chunk, (error) => error ? reject(error) : resolve());
      });
    },
    close: () => {
      socket.end();
    },
    abort: close,
  });
  return { readable, writable, close };
}
