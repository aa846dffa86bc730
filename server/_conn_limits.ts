/**
 * Connection limits of a listener: how many connections it keeps open (below the process's
 * descriptor limit, so accepting never runs the process out of descriptors), how long a
 * connection may take to say what it is, and what the listener counts for metrics.
 * @module
 */
import type { Logger } from "./_types.ts";

/** Descriptor limit assumed when the real one cannot be read (a common default). */
export const assumedDescriptorLimit = 1024;
/** Share of the descriptor limit the RPC listener may hold open. */
export const rpcConnectionShare = 0.45;
/** Share of the descriptor limit the HTTP listener may hold open. */
export const httpConnectionShare = 0.25;
/** Default time a new connection has to identify itself (preface, preamble, TLS handshake). */
export const handshakeTimeoutMsDefault = 10_000;
/** Default time an HTTP keep-alive connection may idle between requests. */
export const httpIdleTimeoutMsDefault = 30_000;

/** Environment variable stating the process's descriptor limit (e.g. systemd LimitNOFILE). */
export const descriptorLimitEnv = "STRAND_FD_LIMIT";

/**
 * The limit on open descriptors: `STRAND_FD_LIMIT` when set (the shipped permissions let
 * `serve` read STRAND_* variables), else "Max open files" of /proc/self/limits when the
 * process may read it (Deno grants that only with --allow-all), else null.
 */
export function descriptorLimit(): number | null {
  try {
    const env = Deno.permissions.querySync({ name: "env", variable: descriptorLimitEnv });
    const stated = env.state === "granted" ? Deno.env.get(descriptorLimitEnv) : undefined;
    if (stated !== undefined && /^[1-9][0-9]*$/.test(stated.trim())) return Number(stated.trim());
    const path = "/proc/self/limits";
    if (Deno.permissions.querySync({ name: "read", path }).state !== "granted") return null;
    const line = Deno.readTextFileSync(path).split("\n").find((row) =>
      row.startsWith("Max open files")
    );
    const soft = line?.slice("Max open files".length).trim().split(/\s+/)[0];
    if (soft === undefined) return null;
    if (soft === "unlimited") return Number.MAX_SAFE_INTEGER;
    const value = Number(soft);
    return Number.isSafeInteger(value) && value > 0 ? value : null;
  } catch {
    return null; // not Linux, or not allowed
  }
}

/**
 * Open connections a listener keeps by default: `share` of the descriptor limit (the rest is
 * left for the log's segments, two descriptors each, the other listeners and peer links).
 */
export function connectionsMaxDefault(share: number, limit = descriptorLimit()): number {
  const descriptors = limit ?? assumedDescriptorLimit;
  return Math.max(8, Math.floor(Math.min(descriptors, 1_000_000) * share));
}

/** What a listener counts (exposed as metrics by the node). */
export class ConnectionStats {
  /** Connections open now. */
  open = 0;
  /** Connections accepted since start. */
  accepted = 0;
  /** Connections closed at once because `connectionsMax` were open. */
  refusedAtCap = 0;
  /** Accept failures (EMFILE and the like); the loop backs off and goes on. */
  acceptErrors = 0;
  /** Connections closed because they did not identify themselves in time. */
  handshakeTimeouts = 0;
  /** Connections closed because their first bytes were no protocol this port speaks. */
  unknownProtocol = 0;
  /** Keep-alive connections closed after idling with no request in progress. */
  idleClosed = 0;

  constructor(
    /** "rpc" or "http". */
    readonly listener: string,
    /** The cap on open connections. */
    readonly connectionsMax: number,
  ) {}
}

/** Logs at warn at most once per `everyMs` per key, with how many were suppressed. */
export class RateLimitedLog {
  readonly #lastMs = new Map<string, number>();
  readonly #suppressed = new Map<string, number>();

  constructor(readonly logger: Logger, readonly everyMs = 10_000) {}

  /** Logs `message` unless the same key was logged within the interval. */
  warn(key: string, message: string, fields: Record<string, unknown> = {}): void {
    const now = performance.now();
    const last = this.#lastMs.get(key);
    if (last !== undefined && now - last < this.everyMs) {
      this.#suppressed.set(key, (this.#suppressed.get(key) ?? 0) + 1);
      return;
    }
    const suppressed = this.#suppressed.get(key) ?? 0;
    this.#suppressed.delete(key);
    this.#lastMs.set(key, now);
    this.logger.warn(message, suppressed > 0 ? { ...fields, suppressed } : fields);
  }
}
