/**
 * Client contexts: named sets of connection settings (address, CA, certificate, key, server
 * name) kept in `contexts.json` under the config directory, one of them current, so a mutual
 * TLS command is `strand produce hello`, not four flags long. The file is written atomically
 * (temp file, fsync, rename) with mode 0600: it names key files.
 * @module
 */
import { CliError } from "./_errors.ts";

/** The settings a context (or the environment, or flags) gives a client command. */
export const CLIENT_SETTING_KEYS = [
  "addr",
  "tls-ca-file",
  "tls-cert-file",
  "tls-key-file",
  "tls-server-name",
] as const;

/** One client setting's name (its flag without `--`). */
export type ClientSettingKey = typeof CLIENT_SETTING_KEYS[number];

/** A context's settings, by flag name. */
export type ContextSettings = Partial<Record<ClientSettingKey, string>>;

/** The contexts file. */
export interface ContextFile {
  /** The context used when none is named, or absent. */
  current?: string;
  contexts: Record<string, ContextSettings>;
}

/** The environment variable of a setting: `tls-ca-file` → `STRAND_TLS_CA_FILE`. */
export function envNameOf(key: ClientSettingKey): string {
  return `STRAND_${key.toUpperCase().replaceAll("-", "_")}`;
}

/** Names a context may have (they are typed on command lines and shown in lists). */
const namePattern = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/** Throws unless `name` is a usable context name. */
export function checkContextName(name: string): void {
  if (!namePattern.test(name)) {
    throw new CliError(
      `Cannot use "${name}" as a context name: use letters, digits, ".", "_" and "-" (at most 64)`,
    );
  }
}

/** An environment variable, or undefined when unset or this process may not read it. */
export function readEnvVariable(variable: string): string | undefined {
  if (Deno.permissions.querySync({ name: "env", variable }).state !== "granted") return undefined;
  const value = Deno.env.get(variable);
  return value === "" ? undefined : value;
}

/**
 * The config directory: `$STRAND_CONFIG_DIR`, else `$XDG_CONFIG_HOME/strand`, else
 * `~/.config/strand`; null when none can be known (no variable readable).
 */
export function configDir(): string | null {
  const explicit = readEnvVariable("STRAND_CONFIG_DIR");
  if (explicit !== undefined) return explicit;
  const xdg = readEnvVariable("XDG_CONFIG_HOME");
  if (xdg !== undefined) return `${xdg}/strand`;
  const home = readEnvVariable("HOME");
  return home === undefined ? null : `${home}/.config/strand`;
}

/** The path of the contexts file, or a CliError saying how to make one known. */
export function contextsPath(): string {
  const dir = configDir();
  if (dir === null) {
    throw new CliError(
      "Cannot find the config directory: set STRAND_CONFIG_DIR (or HOME, or XDG_CONFIG_HOME), " +
        "and let this process read it",
    );
  }
  return `${dir}/contexts.json`;
}

/** Checks and normalises a parsed contexts file. */
function validate(path: string, parsed: unknown): ContextFile {
  const fail = (why: string) =>
    new CliError(`Cannot use contexts file ${path}: ${why}; fix it or remove it`, 1);
  if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
    throw fail("expected a JSON object");
  }
  const { current, contexts } = parsed as { current?: unknown; contexts?: unknown };
  if (current !== undefined && typeof current !== "string") throw fail('"current" is not text');
  if (typeof contexts !== "object" || contexts === null || Array.isArray(contexts)) {
    throw fail('"contexts" is not an object');
  }
  const out: ContextFile = { contexts: {} };
  if (current !== undefined) out.current = current;
  for (const [name, settings] of Object.entries(contexts)) {
    if (typeof settings !== "object" || settings === null) {
      throw fail(`context ${name} is not an object`);
    }
    const clean: ContextSettings = {};
    for (const [key, value] of Object.entries(settings)) {
      if (!(CLIENT_SETTING_KEYS as readonly string[]).includes(key) || typeof value !== "string") {
        throw fail(`context ${name} has an unknown setting "${key}"`);
      }
      clean[key as ClientSettingKey] = value;
    }
    out.contexts[name] = clean;
  }
  return out;
}

/** Reads the contexts file (empty when it does not exist). */
export async function loadContexts(path: string): Promise<ContextFile> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { contexts: {} };
    if (error instanceof Deno.errors.NotCapable) {
      throw new CliError(
        `Cannot read contexts file ${path}: this process may not read it; run with ` +
          `--allow-read=${path.replace(/\/contexts\.json$/, "")} or set STRAND_CONFIG_DIR`,
        1,
      );
    }
    throw new CliError(`Cannot read contexts file ${path}: ${(error as Error).message}`, 1);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new CliError(
      `Cannot use contexts file ${path}: ${(error as Error).message}; fix it or remove it`,
      1,
    );
  }
  return validate(path, parsed);
}

/**
 * Writes the contexts file atomically: a temp file in the same directory (mode 0600), fsynced,
 * renamed over the old one, so a crash leaves the old file or the new one, never half of one.
 */
export async function saveContexts(path: string, file: ContextFile): Promise<void> {
  const dir = path.replace(/\/[^/]*$/, "");
  const temp = `${path}.${Deno.pid}.tmp`;
  try {
    await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
    const text = `${JSON.stringify(file, null, 2)}\n`;
    using handle = await Deno.open(temp, {
      write: true,
      create: true,
      truncate: true,
      mode: 0o600,
    });
    // mode applies only when the file is created; a leftover temp file gets it explicitly.
    await Deno.chmod(temp, 0o600);
    let bytes = new TextEncoder().encode(text);
    while (bytes.length > 0) bytes = bytes.subarray(await handle.write(bytes));
    await handle.sync();
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw new CliError(`Cannot write contexts file ${path}: ${(error as Error).message}`, 1);
  }
}

/**
 * Whether this process may read `path` without prompting; client commands then skip contexts
 * they may not read (a locked-down runtime), unless one is asked for by name.
 */
export function mayRead(path: string): boolean {
  return Deno.permissions.querySync({ name: "read", path }).state === "granted";
}
