/**
 * The node's security state: server TLS, peer TLS and the ACL currently in force, and
 * their reload without restart (SIGHUP and file changes). Each part reloads on its own;
 * a part whose new files are broken is refused with a logged error and the old one stays.
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import { type AclFiles, Authorizer, readAclFile } from "./_authorizer.ts";
import { type Action, SecurityError } from "./_errors.ts";
import { PeerTls } from "./_peer.ts";
import {
  httpsServerOptions,
  loadTlsMaterial,
  ReloadableServerCredentials,
  secureContextOptions,
  type TlsFiles,
  type TlsMaterial,
} from "./_tls.ts";
import { FileWatch, type SecurityLogger } from "./_watch.ts";
import type { ServerOptions as HttpsServerOptions } from "node:https";
import { createSecureContext, type SecureContext, type SecureContextOptions } from "node:tls";

/** Which files a node was started with; each part is optional. */
export interface SecurityFiles {
  /** Client port (gRPC and HTTP): TLS, and mutual TLS with a CA. */
  readonly serverTls?: TlsFiles;
  /** Node ↔ node traffic: always mutual TLS, so the CA is required. */
  readonly peerTls?: TlsFiles;
  /** ACL model and policy. Without it every authenticated caller may do everything. */
  readonly acl?: AclFiles;
}

/** A part of the state that reloads on its own. */
export type SecurityPart = "server-tls" | "peer-tls" | "acl";

/** What one reload did to one part. */
export type ReloadOutcome =
  | { readonly part: SecurityPart; readonly status: "reloaded" | "unchanged" }
  | { readonly part: SecurityPart; readonly status: "refused"; readonly error: SecurityError };

/** A server whose TLS context can be swapped, such as node:https or node:http2. */
export interface SecureContextTarget {
  setSecureContext(options: SecureContextOptions): void;
}

/** Options of {@linkcode SecurityState.load}. */
export interface SecurityStateOptions {
  logger?: SecurityLogger;
}

interface LoadedTls {
  material: TlsMaterial;
  fingerprint: string;
}

interface LoadedAcl {
  authorizer: Authorizer;
  fingerprint: string;
}

interface LoadedParts {
  serverTls?: LoadedTls;
  peerTls?: LoadedTls;
  acl?: LoadedAcl;
}

/**
 * Holds the security state of a node and reloads it.
 *
 * @example
 * ```ts
 * const security = await SecurityState.load({ serverTls: { certFile, keyFile, caFile } });
 * server.bindAsync("127.0.0.1:0", security.grpcServerCredentials(), callback);
 * security.watch(); // SIGHUP and file changes
 * security.authorize(subjectOfGrpcCall(call), "produce");
 * await security.close();
 * ```
 */
export class SecurityState {
  readonly #files: SecurityFiles;
  readonly #logger: SecurityLogger;
  #serverTls: LoadedTls | undefined;
  #peerTls: LoadedTls | undefined;
  #authorizer: Authorizer | undefined;
  #aclFingerprint = "";
  readonly #serverCredentials: ReloadableServerCredentials | undefined;
  readonly #peerTlsConfig: PeerTls | undefined;
  readonly #httpsTargets = new Set<SecureContextTarget>();
  readonly #listeners = new Set<(outcomes: readonly ReloadOutcome[]) => void>();
  #reloading: Promise<readonly ReloadOutcome[]> = Promise.resolve([]);
  #fileWatch: FileWatch | undefined;
  #signalHandler: (() => void) | undefined;
  #httpsContextCache: { fingerprint: string; context: SecureContext } | undefined;

  private constructor(
    files: SecurityFiles,
    logger: SecurityLogger,
    loaded: LoadedParts,
  ) {
    this.#files = files;
    this.#logger = logger;
    this.#serverTls = loaded.serverTls;
    this.#peerTls = loaded.peerTls;
    this.#authorizer = loaded.acl?.authorizer;
    this.#aclFingerprint = loaded.acl?.fingerprint ?? "";
    if (this.#serverTls !== undefined) {
      this.#serverCredentials = new ReloadableServerCredentials(this.#serverTls.material);
    }
    if (this.#peerTls !== undefined) this.#peerTlsConfig = new PeerTls(this.#peerTls.material);
  }

  /** Loads every configured part; at start-up a broken file is fatal (throws). */
  static async load(
    files: SecurityFiles,
    options: SecurityStateOptions = {},
  ): Promise<SecurityState> {
    const logger = options.logger ?? consoleLogger;
    const serverTls = files.serverTls === undefined ? undefined : await loadTls(files.serverTls);
    const peerTls = files.peerTls === undefined ? undefined : await loadTls(files.peerTls);
    if (peerTls !== undefined) new PeerTls(peerTls.material); // refuses a missing CA now
    const acl = files.acl === undefined ? undefined : await loadAcl(files.acl);
    const loaded: LoadedParts = {};
    if (serverTls !== undefined) loaded.serverTls = serverTls;
    if (peerTls !== undefined) loaded.peerTls = peerTls;
    if (acl !== undefined) loaded.acl = acl;
    return new SecurityState(files, logger, loaded);
  }

  /** True when the client port serves TLS. */
  get tlsEnabled(): boolean {
    return this.#serverTls !== undefined;
  }

  /** True when callers must present a client certificate. */
  get mutualTls(): boolean {
    return this.#serverTls?.material.caPem !== undefined;
  }

  /** True when an ACL decides who may do what. */
  get aclEnabled(): boolean {
    return this.#authorizer !== undefined;
  }

  /** The client port's material in force, if TLS is on. */
  get serverTlsMaterial(): TlsMaterial | undefined {
    return this.#serverTls?.material;
  }

  /** The ACL in force, if any. */
  get authorizer(): Authorizer | undefined {
    return this.#authorizer;
  }

  /** Peer TLS built from the node certificate and peer CA, if configured. */
  get peerTls(): PeerTls | undefined {
    return this.#peerTlsConfig;
  }

  /** Credentials for the client gRPC port: reloading TLS/mTLS, or plaintext without TLS. */
  grpcServerCredentials(): grpc.ServerCredentials {
    return this.#serverCredentials ?? grpc.ServerCredentials.createInsecure();
  }

  /**
   * What an operator must hear at start about weak settings, loudest first. Empty when
   * the client port uses mutual TLS and an ACL.
   */
  insecureWarnings(): string[] {
    if (!this.tlsEnabled) {
      return [
        "INSECURE: serving plaintext without authentication or authorization; anyone who " +
        "can reach the ports can read and write the log (set --server-tls-cert-file, " +
        "--server-tls-key-file, --server-tls-ca-file and the --acl-* files)",
      ];
    }
    const warnings: string[] = [];
    if (!this.mutualTls) {
      warnings.push(
        "TLS without client certificates (no --server-tls-ca-file): callers are not " +
          "authenticated" + (this.aclEnabled ? " and the ACL denies them all" : ""),
      );
    }
    if (this.mutualTls && !this.aclEnabled) {
      warnings.push(
        "No ACL (--acl-model-file/--acl-policy-file): every client certificate " +
          "the CA signed may produce, consume and administer",
      );
    }
    return warnings;
  }

  /** node:https options for the HTTP port; undefined when it serves plaintext. */
  httpsServerOptions(): HttpsServerOptions | undefined {
    const material = this.#serverTls?.material;
    if (material === undefined) return undefined;
    return {
      ...httpsServerOptions(material),
      // Hands each handshake the context in force, so a server built from these options
      // follows reloads without a reference to it. Deno calls it also when the client
      // sends no server name (tests/security/reload_test.ts checks that); under Node's
      // rules such clients would need attachHttpsServer as well.
      SNICallback: (_serverName, callback) => callback(null, this.#httpsContext()),
    };
  }

  #httpsContext(): SecureContext {
    const loaded = this.#serverTls!;
    if (this.#httpsContextCache?.fingerprint !== loaded.fingerprint) {
      this.#httpsContextCache = {
        fingerprint: loaded.fingerprint,
        context: createSecureContext(secureContextOptions(loaded.material)),
      };
    }
    return this.#httpsContextCache.context;
  }

  /** Keeps `server`'s TLS context in step with reloads; returns the detach function. */
  attachHttpsServer(server: SecureContextTarget): () => void {
    this.#httpsTargets.add(server);
    return () => this.#httpsTargets.delete(server);
  }

  /**
   * Throws {@linkcode AuthorizationError} unless the ACL allows it. Without an ACL every
   * caller is allowed: that mode is announced loudly at start (see `insecureWarnings`).
   */
  authorize(subject: string, action: Action): void {
    this.#authorizer?.authorize(subject, action);
  }

  /**
   * True when the ACL in force allows it (always true without an ACL). The boolean form
   * of {@linkcode SecurityState.authorize}, for `server/`'s `Authorize` hook; it reads
   * the current ACL on every call, so a reloaded policy applies to the next request.
   */
  can(subject: string, action: Action): boolean {
    return this.#authorizer?.can(subject, action) ?? true;
  }

  /** Calls `listener` after every reload with what happened to each part. */
  onReload(listener: (outcomes: readonly ReloadOutcome[]) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Reloads every part now; reloads never overlap. Never throws for bad files. */
  reload(): Promise<readonly ReloadOutcome[]> {
    this.#reloading = this.#reloading.then(() => this.#reloadOnce());
    return this.#reloading;
  }

  /**
   * Reloads on SIGHUP and when any configured file changes, until {@linkcode close}.
   * `files: false` keeps only SIGHUP (for example when the files sit on a filesystem
   * without change notifications).
   */
  watch(options: { signal?: boolean; files?: boolean; settleMs?: number } = {}): void {
    const paths = this.#watchedPaths();
    if (paths.length === 0) return;
    const trigger = () => void this.reload();
    if (
      options.signal !== false && this.#signalHandler === undefined && Deno.build.os !== "windows"
    ) {
      this.#signalHandler = trigger;
      Deno.addSignalListener("SIGHUP", trigger);
    }
    if (options.files !== false && this.#fileWatch === undefined) {
      const watchOptions = options.settleMs === undefined ? {} : { settleMs: options.settleMs };
      this.#fileWatch = new FileWatch(paths, trigger, { logger: this.#logger, ...watchOptions });
    }
  }

  /** Stops watching and waits for a reload in progress. */
  async close(): Promise<void> {
    if (this.#signalHandler !== undefined) {
      Deno.removeSignalListener("SIGHUP", this.#signalHandler);
      this.#signalHandler = undefined;
    }
    await this.#fileWatch?.close();
    this.#fileWatch = undefined;
    await this.#reloading;
  }

  #watchedPaths(): string[] {
    const { serverTls, peerTls, acl } = this.#files;
    const paths = [serverTls, peerTls].flatMap((tls) =>
      tls === undefined
        ? []
        : [tls.certFile, tls.keyFile, ...(tls.caFile === undefined ? [] : [tls.caFile])]
    );
    if (acl !== undefined) paths.push(acl.modelFile, acl.policyFile);
    return [...new Set(paths)];
  }

  async #reloadOnce(): Promise<readonly ReloadOutcome[]> {
    const outcomes: ReloadOutcome[] = [];
    if (this.#files.serverTls !== undefined) {
      outcomes.push(await this.#reloadPart("server-tls", () => this.#reloadServerTls()));
    }
    if (this.#files.peerTls !== undefined) {
      outcomes.push(await this.#reloadPart("peer-tls", () => this.#reloadPeerTls()));
    }
    if (this.#files.acl !== undefined) {
      outcomes.push(await this.#reloadPart("acl", () => this.#reloadAcl()));
    }
    for (const listener of this.#listeners) listener(outcomes);
    return outcomes;
  }

  async #reloadPart(part: SecurityPart, reload: () => Promise<boolean>): Promise<ReloadOutcome> {
    try {
      const changed = await reload();
      if (changed) this.#logger.info("Reloaded security configuration", { part });
      return { part, status: changed ? "reloaded" : "unchanged" };
    } catch (error) {
      const refused = error instanceof SecurityError
        ? error
        : new SecurityError("TLS_FILE_INVALID", `Cannot reload ${part}: ${error}`, {
          cause: error,
        });
      this.#logger.error("Refused new security configuration; the previous one stays in force", {
        part,
        code: refused.code,
        error: refused.message,
      });
      return { part, status: "refused", error: refused };
    }
  }

  async #reloadServerTls(): Promise<boolean> {
    const next = await loadTls(this.#files.serverTls!);
    if (next.fingerprint === this.#serverTls?.fingerprint) return false;
    this.#serverCredentials!.update(next.material);
    for (const target of this.#httpsTargets) {
      target.setSecureContext(secureContextOptions(next.material));
    }
    this.#serverTls = next;
    return true;
  }

  async #reloadPeerTls(): Promise<boolean> {
    const next = await loadTls(this.#files.peerTls!);
    if (next.fingerprint === this.#peerTls?.fingerprint) return false;
    this.#peerTlsConfig!.update(next.material);
    this.#peerTls = next;
    return true;
  }

  async #reloadAcl(): Promise<boolean> {
    const next = await loadAcl(this.#files.acl!);
    if (next.fingerprint === this.#aclFingerprint) return false;
    this.#authorizer = next.authorizer;
    this.#aclFingerprint = next.fingerprint;
    return true;
  }
}

async function loadTls(files: TlsFiles): Promise<LoadedTls> {
  const material = await loadTlsMaterial(files);
  return {
    material,
    fingerprint: `${material.certPem}\0${material.keyPem}\0${material.caPem ?? ""}`,
  };
}

async function loadAcl(files: AclFiles): Promise<LoadedAcl> {
  const modelText = await readAclFile(files.modelFile, "model");
  const policyText = await readAclFile(files.policyFile, "policy");
  const authorizer = await Authorizer.fromText(modelText, policyText, files.policyFile);
  return { authorizer, fingerprint: `${modelText}\0${policyText}` };
}

const consoleLogger: SecurityLogger = {
  info: (message, fields) => console.error(JSON.stringify({ level: "info", message, ...fields })),
  error: (message, fields) => console.error(JSON.stringify({ level: "error", message, ...fields })),
};
