/**
 * Client-side failures explained in one line. grpc-js reports every failed connection as
 * UNAVAILABLE ("No connection established", "write EPIPE"), whatever the cause; when a call
 * fails so, this file probes the address itself (TCP, then a TLS handshake, then a plaintext
 * HTTP/2 greeting) to name the cause and the flag that fixes it.
 * @module
 */
import net from "node:net";
import tls from "node:tls";
import { status } from "@grpc/grpc-js";
import { splitHostPort } from "./_config.ts";
import { CliError } from "./_errors.ts";

/** Where and how a client command connects (the resolved `--addr` and `--tls-*` settings). */
export interface ConnectionTarget {
  /** "host:port". */
  readonly addr: string;
  readonly tlsCaFile?: string | undefined;
  readonly tlsCertFile?: string | undefined;
  readonly tlsKeyFile?: string | undefined;
  /** The name the node's certificate is verified against. */
  readonly tlsServerName?: string | undefined;
  /** Where settings not given as flags came from, e.g. " (addr from context prod)", or "". */
  readonly origin?: string;
}

/** How long each probe may take; a failed command is reported within a few of these. */
const probeTimeoutMs = 3_000;

/** The HTTP/2 client preface and an empty SETTINGS frame: any gRPC server answers it. */
const h2Preface = new Uint8Array([
  ...new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"),
  ...[0, 0, 0, 4, 0, 0, 0, 0, 0],
]);

/** Certificate verification codes meaning "not signed by the CA you trust". */
const untrustedCodes = new Set([
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "CERT_SIGNATURE_FAILURE",
]);

type TcpOutcome = { kind: "open" } | { kind: "failed"; code: string };

/** Opens (and closes) a TCP connection to learn whether anything listens. */
function probeTcp(host: string, port: number): Promise<TcpOutcome> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    const finish = (outcome: TcpOutcome) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => finish({ kind: "failed", code: "ETIMEDOUT" }), probeTimeoutMs);
    socket.once("connect", () => finish({ kind: "open" }));
    socket.once("error", (error: Error & { code?: string }) => {
      finish({ kind: "failed", code: error.code ?? "EUNKNOWN" });
    });
  });
}

/** What a TLS handshake followed by an HTTP/2 greeting showed. */
type TlsOutcome =
  /** The handshake failed: `code` is the verification or socket error code. */
  | { kind: "handshake-failed"; code: string; message: string }
  /** The handshake completed and the node answered the greeting: TLS is fine. */
  | { kind: "answered" }
  /** The handshake completed, then the node hung up without a word (a refused certificate). */
  | { kind: "hung-up" };

/** Runs a TLS handshake with `options`, then sends the HTTP/2 preface and waits for a reply. */
function probeTls(host: string, port: number, options: tls.ConnectionOptions): Promise<TlsOutcome> {
  return new Promise((resolve) => {
    let secure = false;
    const socket = tls.connect({ host, port, ALPNProtocols: ["h2"], ...options });
    const finish = (outcome: TlsOutcome) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => {
      finish(
        secure ? { kind: "hung-up" } : { kind: "handshake-failed", code: "ETIMEDOUT", message: "" },
      );
    }, probeTimeoutMs);
    socket.once("secureConnect", () => {
      secure = true;
      socket.write(h2Preface);
    });
    socket.once("data", () => finish({ kind: "answered" }));
    socket.once("error", (error: Error & { code?: string }) => {
      finish(
        secure
          ? { kind: "hung-up" }
          : { kind: "handshake-failed", code: error.code ?? "EUNKNOWN", message: error.message },
      );
    });
    socket.once("close", () => {
      finish(
        secure
          ? { kind: "hung-up" }
          : { kind: "handshake-failed", code: "ECONNRESET", message: "" },
      );
    });
  });
}

/** Whether the node answers a plaintext HTTP/2 greeting with a SETTINGS frame. */
function probePlaintextH2(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port });
    let received = new Uint8Array(0);
    const finish = (answered: boolean) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(answered);
    };
    const timer = setTimeout(() => finish(false), probeTimeoutMs);
    socket.once("connect", () => socket.write(h2Preface));
    socket.on("data", (chunk: Uint8Array) => {
      received = new Uint8Array([...received, ...chunk]);
      // A frame header is 9 bytes; byte 3 is the type, 4 is SETTINGS.
      if (received.length >= 9) finish(received[3] === 4);
    });
    socket.once("error", () => finish(false));
    socket.once("close", () => finish(false));
  });
}

/** Why nothing could be reached at `addr`, from the TCP error code. */
function unreachable(addr: string, host: string, code: string): string {
  if (code === "ECONNREFUSED") {
    return `nothing is listening at ${addr}; start a node there, or set --addr to a node's ` +
      `gRPC address (or STRAND_ADDR, or a context)`;
  }
  if (code === "ENOTFOUND" || code === "EAI_AGAIN" || code === "EAI_NONAME") {
    return `cannot resolve the host name ${host}; check --addr`;
  }
  return `${addr} does not answer (${code}); check --addr and that the network lets you reach it`;
}

/** The cause of a failed TLS handshake, or null when it is not one we can name. */
function handshakeCause(
  target: ConnectionTarget,
  serverName: string,
  code: string,
  message: string,
) {
  if (code === "ERR_TLS_CERT_ALTNAME_INVALID") {
    const names = /.*altnames: (.*)$/.exec(message)?.[1] ?? "other names";
    return `the node's certificate is not issued for ${serverName} (it names ${names}); set ` +
      `--tls-server-name to one of those names`;
  }
  if (code === "CERT_HAS_EXPIRED") {
    return "the node's certificate has expired; renew it on the node (strand certs node)";
  }
  if (code === "CERT_NOT_YET_VALID") {
    return "the node's certificate is not valid yet; check the clocks of this machine and the node";
  }
  if (untrustedCodes.has(code)) {
    return `the node's certificate is not signed by the CA in --tls-ca-file ` +
      `(${target.tlsCaFile}); set --tls-ca-file to the CA that signed the node's certificate`;
  }
  return null;
}

/** Names why a TLS client cannot talk to the node, or null when TLS is not the problem. */
async function secureCause(target: ConnectionTarget, host: string, port: number) {
  const serverName = target.tlsServerName ?? host;
  const read = (path: string | undefined) =>
    path === undefined ? undefined : Deno.readTextFile(path);
  const [ca, cert, key] = await Promise.all([
    read(target.tlsCaFile),
    read(target.tlsCertFile),
    read(target.tlsKeyFile),
  ]);
  const outcome = await probeTls(host, port, {
    servername: serverName,
    ...(ca === undefined ? {} : { ca }),
    ...(cert === undefined || key === undefined ? {} : { cert, key }),
  });
  if (outcome.kind === "answered") return null;
  if (outcome.kind === "hung-up") {
    return cert === undefined
      ? "the node requires a client certificate (mutual TLS); add --tls-cert-file and " +
        "--tls-key-file with a certificate signed by the node's CA"
      : `the node refused the client certificate in --tls-cert-file (${target.tlsCertFile}): ` +
        `it is not signed by a CA the node trusts, or has expired; use one the node's CA signed`;
  }
  const cause = handshakeCause(target, serverName, outcome.code, outcome.message);
  if (cause !== null) return cause;
  if (await probePlaintextH2(host, port)) {
    return "the node serves plaintext, not TLS; drop the --tls-* settings, or start the node " +
      "with --server-tls-cert-file and --server-tls-key-file";
  }
  return null;
}

/** Names why a plaintext client cannot talk to the node, or null when it is not TLS. */
async function plaintextCause(host: string, port: number) {
  const outcome = await probeTls(host, port, { rejectUnauthorized: false });
  if (outcome.kind === "answered") {
    return "the node requires TLS; add --tls-ca-file with the CA that signed the node's " +
      "certificate";
  }
  if (outcome.kind === "hung-up") {
    return "the node requires mutual TLS; add --tls-ca-file with the node's CA, and " +
      "--tls-cert-file and --tls-key-file with a client certificate it signed";
  }
  return null;
}

/**
 * Why the node at `target.addr` cannot be talked to, in words with the flag that fixes it, or
 * null when the probes find nothing wrong (the node answered: the failure is elsewhere).
 */
export async function diagnoseConnection(target: ConnectionTarget): Promise<string | null> {
  let host: string;
  let port: number;
  try {
    ({ host, port } = splitHostPort(target.addr, "--addr"));
  } catch {
    return null;
  }
  const tcp = await probeTcp(host, port);
  if (tcp.kind === "failed") return unreachable(target.addr, host, tcp.code);
  return target.tlsCaFile === undefined
    ? await plaintextCause(host, port)
    : await secureCause(target, host, port);
}

/**
 * grpc-js's own words for a connection that failed or broke (as opposed to a node's answer,
 * such as "the cluster has no leader right now", which is reported as it is).
 */
const clientSide =
  /No connection established|Failed to connect|Connection dropped|EPIPE|ECONNRESET|ECONNREFUSED|socket|TLS|certificate|handshake/i;

/**
 * The one-line {@linkcode CliError} (exit 1) for a failed client call: for UNAVAILABLE, the
 * cause {@linkcode diagnoseConnection} finds; otherwise the status and the node's message.
 */
export async function describeClientError(
  error: unknown,
  target: ConnectionTarget,
): Promise<CliError> {
  if (error instanceof CliError) return error;
  const grpcError = error as { code?: number; details?: string; message?: string };
  if (grpcError.code === status.UNAVAILABLE && clientSide.test(grpcError.details ?? "")) {
    const cause = await diagnoseConnection(target).catch(() => null);
    if (cause !== null) {
      return new CliError(`Cannot connect to ${target.addr}${target.origin ?? ""}: ${cause}`, 1);
    }
  }
  if (typeof grpcError.code === "number") {
    const details = (grpcError.details ?? "").replace(/\s*Resolution note:\s*$/, "");
    return new CliError(`${status[grpcError.code] ?? grpcError.code}: ${details}`, 1);
  }
  return new CliError(String(grpcError.message ?? error), 1);
}
