/**
 * `serve` configuration: defaults, then a YAML or JSON config file, then `STRAND_*`
 * environment variables, then flags (flags win). Keys are the book's flag names.
 * @module
 */
import { parse as parseYaml } from "yaml";
import { CliError } from "./_errors.ts";
import { checkReadable } from "./_permissions.ts";

/** Every `serve` setting, by its flag name (without `--`). */
export const serveKeys = {
  "config-file": "string",
  "data-dir": "string",
  "node-name": "string",
  "bind-addr": "string",
  "advertise-addr": "string",
  "advertise-rpc-addr": "string",
  "rpc-port": "integer",
  "http-port": "integer",
  "ops-addr": "string",
  "start-join-addrs": "list",
  "bootstrap": "boolean",
  "acl-model-file": "string",
  "acl-policy-file": "string",
  "server-tls-cert-file": "string",
  "server-tls-key-file": "string",
  "server-tls-ca-file": "string",
  "peer-tls-cert-file": "string",
  "peer-tls-key-file": "string",
  "peer-tls-ca-file": "string",
  "gossip-key-file": "string",
  "insecure-gossip": "boolean",
  "fsync": "string",
  "segment-bytes-max": "integer",
  "record-bytes-max": "integer",
  "retention-bytes": "integer",
  "retention-ms": "integer",
  "log-level": "string",
  "log-format": "string",
} as const;

/** A `serve` setting's name. */
export type ServeKey = keyof typeof serveKeys;
/** Raw settings as collected from the sources. */
export type RawSettings = Partial<Record<ServeKey, string | string[] | boolean>>;

/** The environment variable of a key: `data-dir` → `STRAND_DATA_DIR`. */
function envName(key: ServeKey): string {
  return `STRAND_${key.toUpperCase().replaceAll("-", "_")}`;
}

/** Reads `STRAND_*` variables we may read, without prompting for permissions. */
export function readEnv(): RawSettings {
  const out: RawSettings = {};
  for (const key of Object.keys(serveKeys) as ServeKey[]) {
    const variable = envName(key);
    if (Deno.permissions.querySync({ name: "env", variable }).state !== "granted") continue;
    const value = Deno.env.get(variable);
    if (value !== undefined) out[key] = serveKeys[key] === "list" ? value.split(",") : value;
  }
  return out;
}

/** Parses a YAML (or JSON, a subset of YAML) config file of `key: value` settings. */
export async function readConfigFile(path: string): Promise<RawSettings> {
  checkReadable("config-file", path);
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new CliError(`Cannot read config file ${path}: ${(error as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = parseYaml(text);
  } catch (error) {
    throw new CliError(`Cannot parse config file ${path}: ${(error as Error).message}`);
  }
  if (parsed === null || parsed === undefined) return {};
  if (typeof parsed !== "object" || Array.isArray(parsed)) {
    throw new CliError(`Cannot use config file ${path}: expected a mapping of settings`);
  }
  const out: RawSettings = {};
  for (const [key, value] of Object.entries(parsed)) {
    if (!(key in serveKeys) || key === "config-file") {
      throw new CliError(`Cannot use config file ${path}: unknown setting "${key}"`);
    }
    out[key as ServeKey] = Array.isArray(value)
      ? value.map(String)
      : typeof value === "boolean"
      ? value
      : String(value);
  }
  return out;
}

/** Integer value of `key` from `raw`, or `fallback`; throws a CliError naming the source. */
export function integerSetting(raw: RawSettings, key: ServeKey, fallback: number): number {
  const value = raw[key];
  if (value === undefined) return fallback;
  const number = Number(value);
  if (
    typeof value !== "string" || value.trim() === "" || !Number.isSafeInteger(number) || number < 0
  ) {
    throw new CliError(`Cannot use --${key}=${String(value)}: expected an integer >= 0`);
  }
  return number;
}

/** Boolean value of `key` ("true"/"false" strings from files and env). */
export function booleanSetting(raw: RawSettings, key: ServeKey): boolean {
  const value = raw[key];
  if (value === undefined || typeof value === "boolean") return value ?? false;
  if (value === "true" || value === "1") return true;
  if (value === "false" || value === "0" || value === "") return false;
  throw new CliError(`Cannot use --${key}=${String(value)}: expected true or false`);
}

/** String value of `key`, or `fallback`. */
export function stringSetting(raw: RawSettings, key: ServeKey, fallback: string): string {
  const value = raw[key];
  if (value === undefined) return fallback;
  if (typeof value !== "string") throw new CliError(`Cannot use --${key}: expected one value`);
  return value;
}

/** List value of `key` (repeatable and/or comma-separated). */
export function listSetting(raw: RawSettings, key: ServeKey): string[] {
  const value = raw[key];
  if (value === undefined || typeof value === "boolean") return [];
  const items = Array.isArray(value) ? value : [value];
  return items.flatMap((item) => item.split(",")).map((item) => item.trim()).filter((x) => x);
}

/** Splits "host:port" (IPv6 in brackets); throws a CliError naming the flag. */
export function splitHostPort(address: string, flag: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]+)):(\d{1,5})$/.exec(address);
  const port = Number(match?.[3]);
  if (!match || port > 65535) {
    throw new CliError(`Cannot use ${flag}=${address}: expected host:port, e.g. 127.0.0.1:8401`);
  }
  return { host: match[1] ?? match[2]!, port };
}
