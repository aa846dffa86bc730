/**
 * A TCP listener Strand owns: an accept loop that survives accept errors (EMFILE, ENFILE),
 * a cap on open connections below the descriptor limit, and a deadline for each new
 * connection to identify itself. Each accepted connection goes to `onConnection` with the
 * reader of its bytes (the caller decides what the connection is before wrapping it).
 *
 * Why: on Deno 2.8.3 the runtime's own accept loops (node:net, node:http, Deno.serve) end for
 * good at the first EMFILE and log nothing, so a burst of idle connections took a port down.
 * @module
 */
import { ConnectionStats, RateLimitedLog } from "./_conn_limits.ts";
import type { Logger } from "./_types.ts";
import type { ConnReader } from "./_conn_socket.ts";

/** Options of {@linkcode ConnectionListener}. */
export interface ConnectionListenerOptions {
  /** "rpc" or "http": names the listener in logs and metrics. */
  name: string;
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** Open connections kept at most; more are closed at once (and counted, and logged). */
  connectionsMax: number;
  logger: Logger;
}

/** An accepted connection, before anyone read from it. */
export interface Accepted {
  conn: Deno.TcpConn;
  reader: ConnReader;
  /** Call once the connection closed (frees its slot under the cap). */
  release(): void;
}

const acceptBackoffMsMin = 10;
const acceptBackoffMsMax = 1000;

/** A listening socket with its accept loop. */
export class ConnectionListener {
  readonly stats: ConnectionStats;
  readonly port: number;
  readonly #listener: Deno.TcpListener;
  readonly #log: RateLimitedLog;
  readonly #options: ConnectionListenerOptions;
  readonly #open = new Set<Deno.TcpConn>();
  #closed = false;
  #loop: Promise<void> | null = null;

  constructor(options: ConnectionListenerOptions) {
    this.#options = options;
    try {
      this.#listener = Deno.listen({ hostname: options.host, port: options.port });
    } catch (error) {
      throw new Error(
        `Cannot listen on ${options.host}:${options.port}: ${(error as Error).message}`,
      );
    }
    this.port = (this.#listener.addr as Deno.NetAddr).port;
    this.stats = new ConnectionStats(options.name, options.connectionsMax);
    this.#log = new RateLimitedLog(options.logger);
  }

  /** Starts accepting; every connection under the cap goes to `onConnection`. */
  start(onConnection: (accepted: Accepted) => void): void {
    this.#loop ??= this.#acceptLoop(onConnection);
  }

  async #acceptLoop(onConnection: (accepted: Accepted) => void): Promise<void> {
    let backoffMs = 0;
    while (!this.#closed) {
      let conn: Deno.TcpConn;
      try {
        conn = await this.#listener.accept();
        backoffMs = 0;
      } catch (error) {
        if (this.#closed) return;
        this.stats.acceptErrors++;
        backoffMs = Math.min(acceptBackoffMsMax, Math.max(acceptBackoffMsMin, backoffMs * 2));
        this.#log.warn(
          `accept-${this.#options.name}`,
          `The ${this.#options.name} port cannot accept connections: ${
            (error as Error).message
          }; retrying. Raise the descriptor limit (ulimit -n) or lower the connection cap`,
          { listener: this.#options.name, openConnections: this.stats.open },
        );
        await new Promise((resolve) => setTimeout(resolve, backoffMs));
        continue;
      }
      this.#admit(conn, onConnection);
    }
  }

  #admit(conn: Deno.TcpConn, onConnection: (accepted: Accepted) => void): void {
    if (this.#closed || this.#open.size >= this.#options.connectionsMax) {
      try {
        conn.close();
      } catch {
        // already closed
      }
      if (this.#closed) return;
      this.stats.refusedAtCap++;
      this.#log.warn(
        `cap-${this.#options.name}`,
        `The ${this.#options.name} port holds ${this.#options.connectionsMax} connections, ` +
          "its cap: new connections are closed until some end",
        { listener: this.#options.name, refused: this.stats.refusedAtCap },
      );
      return;
    }
    this.#open.add(conn);
    this.stats.open = this.#open.size;
    this.stats.accepted++;
    try {
      conn.setNoDelay(true);
    } catch {
      // closed meanwhile; the reader reports it
    }
    let released = false;
    const release = () => {
      if (released) return;
      released = true;
      this.#open.delete(conn);
      this.stats.open = this.#open.size;
    };
    onConnection({ conn, reader: conn.readable.getReader({ mode: "byob" }), release });
  }

  /** Stops accepting (open connections are left to their owners). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#listener.close();
    } catch {
      // already closed
    }
    await this.#loop;
  }
}
