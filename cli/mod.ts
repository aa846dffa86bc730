/**
 * Strand's command line: a table of commands, each with its help and its runner.
 *
 * @example
 * ```ts
 * Deno.exit(await runCli(Deno.args));
 * ```
 * @module
 */
import { CERTS_HELP, runCerts } from "./certs.ts";
import {
  CONSUME_HELP,
  PRODUCE_HELP,
  runConsume,
  runProduce,
  runServers,
  SERVERS_HELP,
} from "./_client_commands.ts";
import { CONTEXT_HELP, runContext } from "./_context_command.ts";
import { CliError } from "./_errors.ts";
import { HEALTH_HELP, runHealth } from "./_health.ts";
import { runServe, SERVE_HELP } from "./_serve.ts";
import {
  REMOVE_MEMBER_HELP,
  runRemoveMember,
  runStatus,
  runTransferLeadership,
  STATUS_HELP,
  TRANSFER_LEADERSHIP_HELP,
} from "./_admin_commands.ts";
import { COMPLETION_HELP, completionScript } from "./_completion.ts";
import { versionText } from "./_version.ts";

export { CliError } from "./_errors.ts";

/** One command of the table. */
export interface Command {
  /** One line for `strand --help`. */
  readonly summary: string;
  /** Full help for `strand <command> --help`. */
  readonly help: string;
  /** Runs the command with its arguments; resolves with the exit code. */
  readonly run: (args: string[]) => Promise<number>;
}

/** Every command; adding one is one line here. */
export const commands: Record<string, Command> = {
  serve: { summary: "run a node", help: SERVE_HELP, run: runServe },
  produce: { summary: "append records", help: PRODUCE_HELP, run: runProduce },
  consume: { summary: "read or tail records", help: CONSUME_HELP, run: runConsume },
  servers: { summary: "list the cluster's servers", help: SERVERS_HELP, run: runServers },
  status: {
    summary: "show the cluster: members, roles, leader, lag, log offsets",
    help: STATUS_HELP,
    run: runStatus,
  },
  "remove-member": {
    summary: "remove a failed member from the cluster",
    help: REMOVE_MEMBER_HELP,
    run: runRemoveMember,
  },
  "transfer-leadership": {
    summary: "hand leadership to another voter",
    help: TRANSFER_LEADERSHIP_HELP,
    run: runTransferLeadership,
  },
  context: {
    summary: "save connection settings under a name (add, use, list, show, rm)",
    help: CONTEXT_HELP,
    run: runContext,
  },
  certs: { summary: "create TLS certificates", help: CERTS_HELP, run: runCerts },
  health: {
    summary: "ask a node's ops listener if it is ready",
    help: HEALTH_HELP,
    run: runHealth,
  },
  completion: {
    summary: "print a shell completion script (bash, zsh, fish)",
    help: COMPLETION_HELP,
    run: runCompletion,
  },
};

/** `strand completion SHELL`: the script over the command table. */
function runCompletion(args: string[]): Promise<number> {
  if (args.length !== 1) {
    return Promise.reject(new CliError("Name one shell: bash, zsh or fish"));
  }
  const script = completionScript(args[0]!, commands);
  Deno.stdout.writeSync(new TextEncoder().encode(script));
  return Promise.resolve(0);
}

/** Help text of `strand`. */
export function usage(): string {
  const width = Math.max(...Object.keys(commands).map((name) => name.length));
  const lines = Object.entries(commands).map(([name, command]) =>
    `  ${name.padEnd(width)}  ${command.summary}`
  );
  return `Usage: strand <command> [options]\n\nCommands:\n${lines.join("\n")}\n\n` +
    `Run "strand help <command>" (or "strand <command> --help") for a command's options,\n` +
    `"strand --version" for the version.\n`;
}

/** Runs the command line; resolves with the exit code (usage errors: 2). */
export async function runCli(args: string[]): Promise<number> {
  const [name, ...rest] = args;
  if (name === "--version" || name === "-V" || name === "version") {
    console.log(versionText());
    return 0;
  }
  if (name === "help" && rest.length > 0) return help(rest[0]!);
  if (name === undefined || name === "-h" || name === "--help" || name === "help") {
    console.log(usage());
    return name === undefined ? 2 : 0;
  }
  const command = commands[name];
  if (!command) {
    console.error(`strand: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  // Options only: after "--" an argument is a value (a record may well read "--help").
  const options = rest.includes("--") ? rest.slice(0, rest.indexOf("--")) : rest;
  if (options.includes("-h") || options.includes("--help")) {
    console.log(command.help);
    return 0;
  }
  if (options.includes("--version")) {
    console.log(versionText());
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (error) {
    if (!(error instanceof CliError)) throw error;
    console.error(`strand ${name}: ${error.message}`);
    return error.exitCode;
  }
}

/** `strand help COMMAND`. */
function help(name: string): number {
  const command = commands[name];
  if (command === undefined) {
    console.error(`strand help: unknown command "${name}"\n\n${usage()}`);
    return 2;
  }
  console.log(command.help);
  return 0;
}
