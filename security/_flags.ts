/**
 * The security flags of the command line, in one place: their names for the parser,
 * their help text, and their translation into {@linkcode SecurityFiles} (server side) or
 * {@linkcode ClientTlsFiles} (produce, consume, servers), refusing half configurations.
 * @module
 */
import * as grpc from "@grpc/grpc-js";
import type { AclFiles } from "./_authorizer.ts";
import { SecurityError } from "./_errors.ts";
import type { SecurityFiles } from "./_security_state.ts";
import {
  type ClientTlsFiles,
  grpcChannelCredentials,
  grpcChannelOptions,
  loadClientTlsMaterial,
  type TlsFiles,
} from "./_tls.ts";

/** Flags of `serve`, all taking a file path. */
export const SERVE_SECURITY_FLAGS = [
  "server-tls-cert-file",
  "server-tls-key-file",
  "server-tls-ca-file",
  "peer-tls-cert-file",
  "peer-tls-key-file",
  "peer-tls-ca-file",
  "acl-model-file",
  "acl-policy-file",
] as const;

/** Flags of client commands (`produce`, `consume`, `servers`). */
export const CLIENT_SECURITY_FLAGS = [
  "tls-ca-file",
  "tls-cert-file",
  "tls-key-file",
  "tls-server-name",
] as const;

/** Parsed flag values by name; absent flags are missing or undefined. */
export type FlagValues = Readonly<Record<string, string | boolean | readonly string[] | undefined>>;

/** Help lines for the `serve` security flags. */
export const SERVE_SECURITY_HELP =
  `Security (without --server-tls-* the node serves plaintext, unauthenticated):
  --server-tls-cert-file FILE  certificate of the client ports (gRPC and HTTPS)
  --server-tls-key-file FILE   its private key
  --server-tls-ca-file FILE    require client certificates signed by this CA (mutual TLS);
                               the subject is the certificate's Common Name
  --peer-tls-cert-file FILE    certificate this node presents to other nodes
  --peer-tls-key-file FILE     its private key
  --peer-tls-ca-file FILE      CA trusted for other nodes (peers always use mutual TLS)
  --acl-model-file FILE        Casbin model (the book's model.conf)
  --acl-policy-file FILE       Casbin policy: "p, root, *, produce" / "p, root, *, consume"
  Files are reloaded on SIGHUP and when they change; a broken new file is refused.`;

/** Help lines for the client security flags. */
export const CLIENT_SECURITY_HELP = `TLS (required when the server uses TLS):
  --tls-ca-file FILE           CA that signed the server's certificate
  --tls-cert-file FILE         client certificate (mutual TLS); its Common Name is the subject
  --tls-key-file FILE          its private key
  --tls-server-name NAME       name to verify the server as (default: the host dialed;
                               needed when dialing an IP address)`;

/** The server side's files from `serve` flags; throws `FLAGS_INVALID` on half configs. */
export function securityFilesFromFlags(values: FlagValues): SecurityFiles {
  const serverTls = tlsFiles(values, "server-tls", false);
  const peerTls = tlsFiles(values, "peer-tls", true);
  const acl = aclFiles(values);
  return {
    ...(serverTls === undefined ? {} : { serverTls }),
    ...(peerTls === undefined ? {} : { peerTls }),
    ...(acl === undefined ? {} : { acl }),
  };
}

/** A client's TLS files, or undefined for plaintext; throws `FLAGS_INVALID` on half configs. */
export function clientTlsFilesFromFlags(values: FlagValues): ClientTlsFiles | undefined {
  const caFile = pathOf(values, "tls-ca-file");
  const certFile = pathOf(values, "tls-cert-file");
  const keyFile = pathOf(values, "tls-key-file");
  if ((certFile === undefined) !== (keyFile === undefined)) {
    throw flagsError("--tls-cert-file and --tls-key-file go together");
  }
  if (caFile === undefined) {
    if (certFile !== undefined) throw flagsError("--tls-cert-file needs --tls-ca-file");
    if (pathOf(values, "tls-server-name") !== undefined) {
      throw flagsError("--tls-server-name needs --tls-ca-file");
    }
    return undefined;
  }
  return certFile === undefined || keyFile === undefined
    ? { caFile }
    : { caFile, certFile, keyFile };
}

function tlsFiles(
  values: FlagValues,
  prefix: "server-tls" | "peer-tls",
  caRequired: boolean,
): TlsFiles | undefined {
  const certFile = pathOf(values, `${prefix}-cert-file`);
  const keyFile = pathOf(values, `${prefix}-key-file`);
  const caFile = pathOf(values, `${prefix}-ca-file`);
  if (certFile === undefined && keyFile === undefined && caFile === undefined) return undefined;
  if (certFile === undefined || keyFile === undefined) {
    throw flagsError(`--${prefix}-cert-file and --${prefix}-key-file go together`);
  }
  if (caFile === undefined) {
    if (caRequired) {
      throw flagsError(`--${prefix}-ca-file is required: peers authenticate each other`);
    }
    return { certFile, keyFile };
  }
  return { certFile, keyFile, caFile };
}

function aclFiles(values: FlagValues): AclFiles | undefined {
  const modelFile = pathOf(values, "acl-model-file");
  const policyFile = pathOf(values, "acl-policy-file");
  if (modelFile === undefined && policyFile === undefined) return undefined;
  if (modelFile === undefined || policyFile === undefined) {
    throw flagsError("--acl-model-file and --acl-policy-file go together");
  }
  return { modelFile, policyFile };
}

function pathOf(values: FlagValues, name: string): string | undefined {
  const value = values[name];
  if (value === undefined) return undefined;
  if (typeof value !== "string" || value === "") {
    throw flagsError(`--${name} needs a value`);
  }
  return value;
}

function flagsError(reason: string): SecurityError {
  return new SecurityError("FLAGS_INVALID", `Cannot use the security flags: ${reason}`);
}

/** What a gRPC client needs to dial with the client flags. */
export interface ClientGrpcSecurity {
  /** True when the flags asked for TLS. */
  readonly secure: boolean;
  readonly credentials: grpc.ChannelCredentials;
  /** Includes the server-name override when `--tls-server-name` is given. */
  readonly channelOptions: grpc.ChannelOptions;
}

/**
 * Loads the client flags' files into gRPC credentials: plaintext without flags, TLS with
 * `--tls-ca-file`, mutual TLS with a client certificate too.
 */
export async function loadClientGrpcSecurity(values: FlagValues): Promise<ClientGrpcSecurity> {
  const files = clientTlsFilesFromFlags(values);
  if (files === undefined) {
    return { secure: false, credentials: grpc.credentials.createInsecure(), channelOptions: {} };
  }
  const material = await loadClientTlsMaterial(files);
  const serverName = pathOf(values, "tls-server-name");
  return {
    secure: true,
    credentials: grpcChannelCredentials(material),
    channelOptions: serverName === undefined ? {} : grpcChannelOptions(serverName),
  };
}
