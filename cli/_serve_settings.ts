/**
 * Turns raw `serve` settings into a validated node configuration.
 * @module
 */
import { type LogOptions, parseFsyncPolicy } from "../log/mod.ts";
import {
  booleanSetting,
  integerSetting,
  listSetting,
  type RawSettings,
  type ServeKey,
  splitHostPort,
  stringSetting,
} from "./_config.ts";
import { CliError } from "./_errors.ts";
import { checkPathAccess } from "./_permissions.ts";
import { SecurityError, type SecurityFiles, securityFilesFromFlags } from "../security/mod.ts";
import { defaultLogFormat, type LogFormat } from "../observe/mod.ts";

/** A validated `serve` configuration. */
export interface ServeSettings {
  dataDir: string;
  nodeName: string;
  bindHost: string;
  gossipPort: number;
  /** Gossip address announced to members instead of the bound one ("" = the bound one). */
  advertiseAddr: string;
  /** RPC address announced to members instead of the bound one ("" = the bound one). */
  advertiseRpcAddr: string;
  rpcPort: number;
  httpPort: number;
  /** The operations listener (`--ops-addr`: /healthz, /readyz, /metrics), if any. */
  ops?: { host: string; port: number };
  bootstrap: boolean;
  /** Gossip addresses of cluster members to join (`--start-join-addrs`). */
  joinAddrs: string[];
  log: LogOptions;
  logLevel: "debug" | "info" | "warn" | "error";
  /** `json` (default when stderr is not a terminal) or readable `text`. */
  logFormat: LogFormat;
  /** TLS, mutual TLS and ACL files; empty means plaintext without authentication. */
  security: SecurityFiles;
  /** File holding the base64 gossip key (`--gossip-key-file`), or "" for none. */
  gossipKeyFile: string;
  /** The operator accepts gossip without a secret key in a TLS cluster. */
  insecureGossip: boolean;
}

function defaultNodeName(): string {
  // Only when allowed: asking for a permission would prompt on a terminal.
  if (Deno.permissions.querySync({ name: "sys", kind: "hostname" }).state === "granted") {
    return Deno.hostname();
  }
  return "strand";
}

function logLevel(raw: RawSettings): ServeSettings["logLevel"] {
  const level = stringSetting(raw, "log-level", "info");
  if (level === "debug" || level === "info" || level === "warn" || level === "error") return level;
  throw new CliError(`Cannot use --log-level=${level}: expected debug, info, warn or error`);
}

function logFormat(raw: RawSettings): LogFormat {
  const format = stringSetting(raw, "log-format", "");
  if (format === "") return defaultLogFormat();
  if (format === "json" || format === "text") return format;
  throw new CliError(`Cannot use --log-format=${format}: expected json or text`);
}

function logOptions(raw: RawSettings): LogOptions {
  let fsync;
  try {
    fsync = parseFsyncPolicy(stringSetting(raw, "fsync", "always"));
  } catch (error) {
    throw new CliError((error as Error).message);
  }
  const optional = (key: ServeKey, name: keyof LogOptions) => {
    const value = integerSetting(raw, key, -1);
    return value >= 0 ? { [name]: value } : {};
  };
  return {
    fsync,
    ...optional("segment-bytes-max", "segmentBytesMax"),
    ...optional("record-bytes-max", "recordBytesMax"),
    ...optional("retention-bytes", "retentionBytes"),
    ...optional("retention-ms", "retentionMs"),
  };
}

function securityFiles(raw: RawSettings): SecurityFiles {
  try {
    return securityFilesFromFlags(raw);
  } catch (error) {
    if (error instanceof SecurityError) throw new CliError(error.message);
    throw error;
  }
}

function joinAddrs(raw: RawSettings): string[] {
  const addresses = listSetting(raw, "start-join-addrs");
  for (const address of addresses) splitHostPort(address, "--start-join-addrs");
  return addresses;
}

function advertised(raw: RawSettings, key: "advertise-addr" | "advertise-rpc-addr"): string {
  const address = stringSetting(raw, key, "");
  if (address !== "") splitHostPort(address, `--${key}`);
  return address;
}

/** Validates `raw` (defaults: ./data, 127.0.0.1:8401, rpc 8400, http 8402). */
export function resolveServeSettings(raw: RawSettings): ServeSettings {
  const bind = splitHostPort(stringSetting(raw, "bind-addr", "127.0.0.1:8401"), "--bind-addr");
  const settings: ServeSettings = {
    dataDir: stringSetting(raw, "data-dir", "./data"),
    nodeName: stringSetting(raw, "node-name", "") || defaultNodeName(),
    bindHost: bind.host,
    gossipPort: bind.port,
    advertiseAddr: advertised(raw, "advertise-addr"),
    advertiseRpcAddr: advertised(raw, "advertise-rpc-addr"),
    rpcPort: integerSetting(raw, "rpc-port", 8400),
    httpPort: integerSetting(raw, "http-port", 8402),
    bootstrap: booleanSetting(raw, "bootstrap"),
    joinAddrs: joinAddrs(raw),
    log: logOptions(raw),
    logLevel: logLevel(raw),
    logFormat: logFormat(raw),
    security: securityFiles(raw),
    gossipKeyFile: stringSetting(raw, "gossip-key-file", ""),
    insecureGossip: booleanSetting(raw, "insecure-gossip"),
  };
  for (const key of ["rpc-port", "http-port"] as const) {
    if (integerSetting(raw, key, 0) > 65535) throw new CliError(`Cannot use --${key}: over 65535`);
  }
  const opsAddr = stringSetting(raw, "ops-addr", "");
  if (opsAddr !== "") settings.ops = splitHostPort(opsAddr, "--ops-addr");
  checkPathAccess(raw, settings.dataDir); // one line, before anything touches the disk
  return settings;
}
