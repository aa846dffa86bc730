/**
 * TLS configuration builders for every listener and dialer of a node: grpc-js server and
 * channel credentials, node:https server and request options, and the peer (node ↔ node)
 * configuration. All take already-loaded PEM text ({@linkcode TlsMaterial}); loading and
 * validation live in {@linkcode loadTlsMaterial} so that a reload can refuse bad files
 * before anything is swapped.
 * @module
 */
import { Buffer } from "node:buffer";
import { createPrivateKey, createPublicKey } from "node:crypto";
import type { SecureContextOptions } from "node:tls";
import type { RequestOptions, ServerOptions as HttpsServerOptions } from "node:https";
import * as grpc from "@grpc/grpc-js";
import { describeCertificate } from "./_certs.ts";
import { readText } from "./_cert_files.ts";
import { SecurityError } from "./_errors.ts";

/** Paths of a node's certificate, key and (for mutual TLS) the CA it trusts for callers. */
export interface TlsFiles {
  readonly certFile: string;
  readonly keyFile: string;
  /** With a CA, callers must present a certificate it signed (mutual TLS). */
  readonly caFile?: string;
}

/** A certificate, its key and optionally the CA that callers' certificates must chain to. */
export interface TlsMaterial {
  readonly certPem: string;
  readonly keyPem: string;
  readonly caPem?: string;
}

/** What a client needs: the CA to trust, and its own certificate for mutual TLS. */
export interface ClientTlsMaterial {
  /** The CA that signed the server's certificate. */
  readonly caPem: string;
  readonly certPem?: string;
  readonly keyPem?: string;
}

/** Paths for {@linkcode loadClientTlsMaterial}. */
export interface ClientTlsFiles {
  readonly caFile: string;
  readonly certFile?: string;
  readonly keyFile?: string;
}

/**
 * Reads and validates a node's TLS files: the certificate and CA parse, the key belongs
 * to the certificate and the certificate has not expired. Throws a coded
 * {@linkcode SecurityError} naming the file, so a reload can refuse it and keep the old.
 */
export async function loadTlsMaterial(files: TlsFiles, now = new Date()): Promise<TlsMaterial> {
  const certPem = await readText(files.certFile, "certificate");
  const keyPem = await readText(files.keyFile, "key");
  checkKeyPair(certPem, keyPem, files.certFile, now);
  if (files.caFile === undefined) return { certPem, keyPem };
  const caPem = await readText(files.caFile, "CA");
  describeCertificate(caPem, `CA file ${files.caFile}`);
  return { certPem, keyPem, caPem };
}

/** Reads and validates a client's TLS files (the certificate and key are optional). */
export async function loadClientTlsMaterial(files: ClientTlsFiles): Promise<ClientTlsMaterial> {
  const caPem = await readText(files.caFile, "CA");
  describeCertificate(caPem, `CA file ${files.caFile}`);
  if (files.certFile === undefined && files.keyFile === undefined) return { caPem };
  if (files.certFile === undefined || files.keyFile === undefined) {
    throw new SecurityError(
      "TLS_FILE_INVALID",
      "Cannot use a client certificate: give both the certificate file and the key file",
    );
  }
  const certPem = await readText(files.certFile, "certificate");
  const keyPem = await readText(files.keyFile, "key");
  checkKeyPair(certPem, keyPem, files.certFile, new Date());
  return { caPem, certPem, keyPem };
}

function checkKeyPair(certPem: string, keyPem: string, certFile: string, now: Date): void {
  const summary = describeCertificate(certPem, `certificate file ${certFile}`);
  let keyPublicDer: Uint8Array;
  try {
    keyPublicDer = createPublicKey(createPrivateKey(keyPem)).export({
      type: "spki",
      format: "der",
    });
  } catch (error) {
    throw new SecurityError("TLS_FILE_INVALID", `Cannot parse the key of ${certFile}: ${error}`, {
      cause: error,
    });
  }
  if (!Buffer.from(keyPublicDer).equals(Buffer.from(summary.publicKeyDer))) {
    throw new SecurityError(
      "TLS_KEY_MISMATCH",
      `Cannot use ${certFile}: the key file holds the key of another certificate`,
    );
  }
  if (summary.notAfter.getTime() <= now.getTime()) {
    throw new SecurityError(
      "TLS_FILE_INVALID",
      `Cannot use ${certFile}: it expired at ${summary.notAfter.toISOString()}`,
    );
  }
}

/** Options for node:tls `createSecureContext` / `server.setSecureContext`. */
export function secureContextOptions(material: TlsMaterial): SecureContextOptions {
  const options: SecureContextOptions = {
    cert: material.certPem,
    key: material.keyPem,
    minVersion: "TLSv1.2",
  };
  if (material.caPem !== undefined) options.ca = material.caPem;
  return options;
}

/**
 * node:https server options. With a CA, a client certificate is required and verified
 * during the handshake (mutual TLS); a caller without one never reaches a handler.
 */
export function httpsServerOptions(material: TlsMaterial): HttpsServerOptions {
  const mutual = material.caPem !== undefined;
  return { ...secureContextOptions(material), requestCert: mutual, rejectUnauthorized: mutual };
}

/** node:https request options for a client of a TLS port. */
export function httpsClientOptions(material: ClientTlsMaterial): RequestOptions {
  const options: RequestOptions = { ca: material.caPem, rejectUnauthorized: true };
  if (material.certPem !== undefined) options.cert = material.certPem;
  if (material.keyPem !== undefined) options.key = material.keyPem;
  return options;
}

/**
 * grpc-js server credentials whose certificate, key and CA can be replaced while the
 * server runs: grpc-js hands every update to `setSecureContext` of its listeners, so
 * new connections use the new material and open ones are left alone.
 */
export class ReloadableServerCredentials extends grpc.ServerCredentials {
  readonly #mutual: boolean;

  /** @param material the initial certificate, key and (for mutual TLS) CA */
  constructor(material: TlsMaterial) {
    const mutual = material.caPem !== undefined;
    super({ requestCert: mutual, rejectUnauthorized: mutual }, secureContextOptions(material));
    this.#mutual = mutual;
  }

  /** True when callers must present a certificate signed by the CA. */
  get mutual(): boolean {
    return this.#mutual;
  }

  /** Swaps in new material for new connections. Mutual TLS cannot be switched on or off. */
  update(material: TlsMaterial): void {
    if ((material.caPem !== undefined) !== this.#mutual) {
      throw new SecurityError(
        "TLS_FILE_INVALID",
        "Cannot switch mutual TLS on or off by reloading: restart the node with the new flags",
      );
    }
    this.updateSecureContextOptions(secureContextOptions(material));
  }

  /** grpc-js compares credentials to decide whether a port can be reused. */
  override _equals(other: grpc.ServerCredentials): boolean {
    return other === this;
  }
}

/** grpc-js server credentials for a port: TLS, or mutual TLS when a CA is given. */
export function grpcServerCredentials(material: TlsMaterial): ReloadableServerCredentials {
  return new ReloadableServerCredentials(material);
}

/** grpc-js channel credentials for a client; presents its certificate when it has one. */
export function grpcChannelCredentials(material: ClientTlsMaterial): grpc.ChannelCredentials {
  const cert = material.certPem === undefined ? null : Buffer.from(material.certPem);
  const key = material.keyPem === undefined ? null : Buffer.from(material.keyPem);
  return grpc.credentials.createSsl(Buffer.from(material.caPem), key, cert);
}

/**
 * Channel options to verify the server as `serverName` while dialing another address.
 * Deno's TLS refuses an IP address as server name, so a node dialed by IP must be
 * verified against one of its DNS SANs (for example "localhost" or its service name).
 */
export function grpcChannelOptions(serverName: string): grpc.ChannelOptions {
  return { "grpc.ssl_target_name_override": serverName, "grpc.default_authority": serverName };
}
