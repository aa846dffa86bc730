/**
 * `strand context add|use|list|show|rm`: manages the saved client contexts.
 * @module
 */
import { parseArgs } from "node:util";
import { resolve } from "node:path";
import { resolveClientSettings } from "./_client_settings.ts";
import {
  checkContextName,
  CLIENT_SETTING_KEYS,
  type ContextSettings,
  contextsPath,
  loadContexts,
  saveContexts,
} from "./_context.ts";
import { CliError } from "./_errors.ts";

/** Help text of `context`. */
export const CONTEXT_HELP = `Usage: strand context <add|use|list|show|rm> [options]

Saves client connection settings under a name, so client commands need no flags.

  strand context add NAME [--addr HOST:PORT] [--tls-ca-file FILE] [--tls-cert-file FILE]
                          [--tls-key-file FILE] [--tls-server-name NAME] [--use]
                            save (or replace) a context; --use also makes it current
  strand context use NAME   make NAME the current context
  strand context list       list the contexts; * marks the current one
  strand context show [NAME]
                            without NAME: the settings a client command would use now, and
                            where each comes from; with NAME: that context's settings
  strand context rm NAME    remove a context

File paths are saved absolute. Contexts live in contexts.json (mode 0600) under
$STRAND_CONFIG_DIR, else $XDG_CONFIG_HOME/strand, else ~/.config/strand.
Client commands take each setting from their flags, then STRAND_ADDR / STRAND_TLS_* variables,
then the context (--context NAME, else STRAND_CONTEXT, else the current one), then defaults.
`;

const addOptions = {
  addr: { type: "string" },
  "tls-ca-file": { type: "string" },
  "tls-cert-file": { type: "string" },
  "tls-key-file": { type: "string" },
  "tls-server-name": { type: "string" },
  use: { type: "boolean" },
} as const;

function parse<T extends Record<string, { type: "string" | "boolean" }>>(
  args: string[],
  options: T = {} as T,
) {
  try {
    return parseArgs({ args, options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new CliError(`${(error as Error).message}\n(see strand context --help)`);
  }
}

/** The one NAME argument of `context <sub> NAME`. */
function oneName(sub: string, positionals: string[]): string {
  if (positionals.length !== 1) throw new CliError(`Usage: strand context ${sub} NAME`);
  const name = positionals[0]!;
  checkContextName(name);
  return name;
}

/** The settings of `context add` from its flags; file paths made absolute, files checked. */
async function settingsFromFlags(values: Record<string, unknown>): Promise<ContextSettings> {
  const settings: ContextSettings = {};
  for (const key of CLIENT_SETTING_KEYS) {
    const value = values[key];
    if (typeof value !== "string") continue;
    if (!key.endsWith("-file")) {
      settings[key] = value;
      continue;
    }
    const path = resolve(value);
    try {
      await Deno.stat(path);
    } catch (error) {
      throw new CliError(`Cannot use --${key}=${value}: ${(error as Error).message}`);
    }
    settings[key] = path;
  }
  if (Object.keys(settings).length === 0) {
    throw new CliError("Cannot save an empty context: give --addr and/or --tls-* settings");
  }
  if ((settings["tls-cert-file"] === undefined) !== (settings["tls-key-file"] === undefined)) {
    throw new CliError("--tls-cert-file and --tls-key-file go together");
  }
  return settings;
}

async function add(args: string[]): Promise<number> {
  const { values, positionals } = parse(args, addOptions);
  const name = oneName("add", positionals);
  const settings = await settingsFromFlags(values);
  const path = contextsPath();
  const file = await loadContexts(path);
  const replaced = file.contexts[name] !== undefined;
  file.contexts[name] = settings;
  if (values.use === true) file.current = name;
  await saveContexts(path, file);
  const current = file.current === name ? " (current)" : "";
  console.log(`${replaced ? "Replaced" : "Saved"} context ${name}${current} in ${path}`);
  return 0;
}

async function use(args: string[]): Promise<number> {
  const name = oneName("use", parse(args).positionals);
  const path = contextsPath();
  const file = await loadContexts(path);
  if (file.contexts[name] === undefined) {
    throw new CliError(
      `Cannot use context ${name}: there is no such context; see strand context list`,
    );
  }
  file.current = name;
  await saveContexts(path, file);
  console.log(`Using context ${name}`);
  return 0;
}

async function list(args: string[]): Promise<number> {
  parse(args);
  const file = await loadContexts(contextsPath());
  const names = Object.keys(file.contexts).sort();
  const width = Math.max(0, ...names.map((name) => name.length));
  for (const name of names) {
    const mark = name === file.current ? "*" : " ";
    const addr = file.contexts[name]!.addr ?? "";
    const tls = file.contexts[name]!["tls-ca-file"] === undefined ? "" : "  tls";
    console.log(`${mark} ${name.padEnd(width)}  ${addr}${tls}`.trimEnd());
  }
  return 0;
}

async function show(args: string[]): Promise<number> {
  const { positionals } = parse(args);
  if (positionals.length > 1) throw new CliError("Usage: strand context show [NAME]");
  const width = Math.max(...CLIENT_SETTING_KEYS.map((key) => key.length));
  const line = (key: string, value: string) => console.log(`${key.padEnd(width)}  ${value}`);
  const named = positionals[0];
  if (named !== undefined) {
    checkContextName(named);
    const stored = (await loadContexts(contextsPath())).contexts[named];
    if (stored === undefined) {
      throw new CliError(`There is no context ${named}; see strand context list`);
    }
    for (const key of CLIENT_SETTING_KEYS) if (stored[key] !== undefined) line(key, stored[key]);
    return 0;
  }
  // What a client command run now would use, and where each setting comes from.
  const settings = await resolveClientSettings({});
  line("context", settings.context ?? "(none)");
  for (const key of CLIENT_SETTING_KEYS) {
    const source = settings.sources[key];
    if (source !== undefined) line(key, `${settings.values[key]}  (${source})`);
  }
  return 0;
}

async function remove(args: string[]): Promise<number> {
  const name = oneName("rm", parse(args).positionals);
  const path = contextsPath();
  const file = await loadContexts(path);
  if (file.contexts[name] === undefined) {
    throw new CliError(`Cannot remove context ${name}: there is no such context`);
  }
  delete file.contexts[name];
  const wasCurrent = file.current === name;
  if (wasCurrent) delete file.current;
  await saveContexts(path, file);
  console.log(`Removed context ${name}${wasCurrent ? " (no context is current now)" : ""}`);
  return 0;
}

const subcommands: Record<string, (args: string[]) => Promise<number>> = {
  add,
  use,
  list,
  ls: list,
  show,
  rm: remove,
};

/** `strand context`. */
export async function runContext(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  const run = sub === undefined ? undefined : subcommands[sub];
  if (run === undefined) {
    throw new CliError(
      `${sub === undefined ? "Missing" : `Unknown`} context command${sub ? ` "${sub}"` : ""}: ` +
        `expected add, use, list, show or rm (see strand context --help)`,
    );
  }
  return await run(rest);
}
