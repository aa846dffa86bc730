/**
 * Where a client command connects, setting by setting: flags, then `STRAND_ADDR` and
 * `STRAND_TLS_*` variables, then the selected context (`--context NAME`, else
 * `STRAND_CONTEXT`, else the current one), then defaults.
 * @module
 */
import {
  CLIENT_SETTING_KEYS,
  type ClientSettingKey,
  type ContextFile,
  contextsPath,
  envNameOf,
  loadContexts,
  mayRead,
  readEnvVariable,
} from "./_context.ts";
import { CliError } from "./_errors.ts";

/** The address a client command uses when nothing sets one. */
export const DEFAULT_ADDR = "127.0.0.1:8400";

/** Where a setting's value came from: "flag", "env STRAND_ADDR", "context prod", "default". */
export type SettingSource = string;

/** A client command's resolved settings and the source of each. */
export interface ResolvedClientSettings {
  /** Values by flag name; `addr` always has one. */
  readonly values: Partial<Record<ClientSettingKey, string>> & { addr: string };
  readonly sources: Partial<Record<ClientSettingKey, SettingSource>>;
  /** The context that was consulted, if any. */
  readonly context: string | null;
}

/** The context to consult: the named one, or `STRAND_CONTEXT`, or the current one, or none. */
async function selectContext(
  named: string | undefined,
): Promise<{ name: string; file: ContextFile } | null> {
  // `--context ""` asks for no context at all.
  if (named === "") return null;
  const wanted = named ?? readEnvVariable("STRAND_CONTEXT");
  let path: string;
  try {
    path = contextsPath();
  } catch (error) {
    if (wanted === undefined) return null;
    throw error;
  }
  // A runtime that may not read the config directory skips contexts unless one is named.
  if (wanted === undefined && !mayRead(path)) return null;
  const file = await loadContexts(path);
  const name = wanted ?? file.current;
  if (name === undefined) return null;
  if (file.contexts[name] === undefined) {
    const how = named !== undefined
      ? "--context"
      : wanted !== undefined
      ? "STRAND_CONTEXT"
      : `the current context in ${path}`;
    throw new CliError(
      `Cannot use context "${name}" (from ${how}): there is no such context; see ` +
        `strand context list`,
    );
  }
  return { name, file };
}

/**
 * Resolves each client setting: `flags` (parsed values by flag name, `context` included) win
 * over the environment, which wins over the context, which wins over the defaults.
 */
export async function resolveClientSettings(
  flags: Readonly<Record<string, unknown>>,
): Promise<ResolvedClientSettings> {
  const named = typeof flags.context === "string" ? flags.context : undefined;
  const selected = await selectContext(named);
  const stored = selected === null ? {} : selected.file.contexts[selected.name] ?? {};
  const values: Partial<Record<ClientSettingKey, string>> = {};
  const sources: Partial<Record<ClientSettingKey, SettingSource>> = {};
  for (const key of CLIENT_SETTING_KEYS) {
    const flag = flags[key];
    const env = readEnvVariable(envNameOf(key));
    if (typeof flag === "string") {
      values[key] = flag;
      sources[key] = "flag";
    } else if (env !== undefined) {
      values[key] = env;
      sources[key] = `env ${envNameOf(key)}`;
    } else if (stored[key] !== undefined) {
      values[key] = stored[key];
      sources[key] = `context ${selected!.name}`;
    }
  }
  if (values.addr === undefined) {
    values.addr = DEFAULT_ADDR;
    sources.addr = "default";
  }
  return { values: { ...values, addr: values.addr }, sources, context: selected?.name ?? null };
}

/** " (tls-ca-file from env STRAND_TLS_CA_FILE, …)" for settings not given as flags, or "". */
export function describeSources(settings: ResolvedClientSettings): string {
  const notFlags = Object.entries(settings.sources)
    .filter(([, source]) => source !== "flag" && source !== "default")
    .map(([key, source]) => `${key} from ${source}`);
  return notFlags.length === 0 ? "" : ` (${notFlags.join(", ")})`;
}
