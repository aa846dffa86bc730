/**
 * Where `serve` may read and write as shipped, and a check that refuses a path outside it with
 * one line before anything touches the disk (the runtime would otherwise throw NotCapable
 * deep inside the log, or prompt on a terminal).
 *
 * `deno task start` and the `deno task compile` binary get these paths and no others. The
 * compiled binary's permissions are fixed when it is built and relative paths resolve against
 * the working directory at run time, so the same binary serves a checkout (`./data`,
 * `./certs`), a systemd unit and a container (`/var/lib/strand`, `/etc/strand`).
 * @module
 */
import type { RawSettings, ServeKey } from "./_config.ts";
import { CliError } from "./_errors.ts";

/** Directories the shipped `serve` may read (deno.json's `--allow-read`). */
export const SHIPPED_READ_PATHS: readonly string[] = [
  "./data",
  "./certs",
  "/etc/strand",
  "/var/lib/strand",
];

/** Directories the shipped `serve` may write (deno.json's `--allow-write`). */
export const SHIPPED_WRITE_PATHS: readonly string[] = ["./data", "/var/lib/strand"];

/** Settings that name a file `serve` reads. */
const fileKeys: readonly ServeKey[] = [
  "config-file",
  "server-tls-cert-file",
  "server-tls-key-file",
  "server-tls-ca-file",
  "peer-tls-cert-file",
  "peer-tls-key-file",
  "peer-tls-ca-file",
  "acl-model-file",
  "acl-policy-file",
];

function granted(name: "read" | "write", path: string): boolean {
  // querySync never prompts: a refusal here is one line, not a question on a terminal.
  return Deno.permissions.querySync({ name, path }).state === "granted";
}

/** "a, b and c" of the shipped paths this process was actually given. */
function allowedList(name: "read" | "write", paths: readonly string[]): string {
  const given = paths.filter((path) => granted(name, path));
  if (given.length === 0) return `nothing of ${paths.join(", ")}`;
  if (given.length === 1) return given[0]!;
  return `${given.slice(0, -1).join(", ")} and ${given.at(-1)}`;
}

function widen(flags: string): string {
  return `or run it with ${flags} (deno run, or deno compile to build a binary that may)`;
}

/** Throws a one-line CliError when `file` is set but may not be read. */
export function checkReadable(key: ServeKey, file: string): void {
  if (granted("read", file)) return;
  throw new CliError(
    `Cannot read --${key}=${file}: strand may read only under ` +
      `${allowedList("read", SHIPPED_READ_PATHS)}; move the file there, ` +
      widen(`--allow-read=${file}`),
  );
}

/** Throws a one-line CliError when `dataDir` may not be both read and written. */
export function checkDataDir(dataDir: string): void {
  if (granted("read", dataDir) && granted("write", dataDir)) return;
  throw new CliError(
    `Cannot use --data-dir=${dataDir}: strand may write only under ` +
      `${allowedList("write", SHIPPED_WRITE_PATHS)}; use a data dir there, ` +
      widen(`--allow-read=${dataDir} --allow-write=${dataDir}`),
  );
}

/** Checks every path in `raw` (data dir and files) against this process's permissions. */
export function checkPathAccess(raw: RawSettings, dataDir: string): void {
  for (const key of fileKeys) {
    const value = raw[key];
    if (typeof value === "string" && value !== "") checkReadable(key, value);
  }
  checkDataDir(dataDir);
}
