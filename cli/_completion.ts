/**
 * `strand completion bash|zsh|fish`: shell completion scripts for the command table. Each
 * command's flags are read from its help text, so a new flag completes without an edit here.
 * @module
 */
import { CliError } from "./_errors.ts";

/** Help text of `completion`. */
export const COMPLETION_HELP = `Usage: strand completion bash|zsh|fish

Prints a shell completion script for strand's commands and their flags.

Install:
  bash:  source <(strand completion bash)          # or save it under
                                                   # ~/.local/share/bash-completion/completions/strand
  zsh:   strand completion zsh > "\${fpath[1]}/_strand"   # then restart zsh
  fish:  strand completion fish > ~/.config/fish/completions/strand.fish
`;

/** Flags a help text documents ("--addr", "--tls-ca-file", …), sorted, without duplicates. */
export function flagsOf(help: string): string[] {
  const flags = new Set<string>(["--help", "--version"]);
  for (const match of help.matchAll(/(?:^|[\s,])(--[a-z][a-z0-9-]*)/g)) flags.add(match[1]!);
  return [...flags].sort();
}

function bash(commands: Map<string, string[]>): string {
  const cases = [...commands].map(([name, flags]) => `    ${name}) flags="${flags.join(" ")}" ;;`)
    .join("\n");
  return `# bash completion for strand
_strand() {
  local cur="\${COMP_WORDS[COMP_CWORD]}"
  if [ "$COMP_CWORD" -eq 1 ]; then
    COMPREPLY=( $(compgen -W "${[...commands.keys()].join(" ")} help --help --version" -- "$cur") )
    return 0
  fi
  local flags=""
  case "\${COMP_WORDS[1]}" in
${cases}
    help) COMPREPLY=( $(compgen -W "${[...commands.keys()].join(" ")}" -- "$cur") ); return 0 ;;
  esac
  if [[ "$cur" == -* ]]; then
    COMPREPLY=( $(compgen -W "$flags" -- "$cur") )
  else
    COMPREPLY=( $(compgen -f -- "$cur") )
  fi
}
complete -F _strand strand
`;
}

function zsh(commands: Map<string, string[]>, summaries: Map<string, string>): string {
  const described = [...summaries].map(([name, summary]) =>
    `    '${name}:${summary.replaceAll("'", "'\\''").replaceAll(":", "\\:")}'`
  ).join("\n");
  const cases = [...commands].map(([name, flags]) =>
    `    ${name}) _arguments ${flags.map((flag) => `'${flag}[]'`).join(" ")} '*:file:_files' ;;`
  ).join("\n");
  return `#compdef strand
# zsh completion for strand
_strand() {
  local -a commands
  commands=(
${described}
  )
  if (( CURRENT == 2 )); then
    _describe 'command' commands
    return
  fi
  case "\${words[2]}" in
${cases}
    help) _describe 'command' commands ;;
  esac
}
compdef _strand strand 2>/dev/null || true
`;
}

function fish(commands: Map<string, string[]>, summaries: Map<string, string>): string {
  const names = [...commands.keys()].join(" ");
  const lines = ["# fish completion for strand", "complete -c strand -f"];
  for (const [name, summary] of summaries) {
    const quoted = summary.replaceAll("'", "\\'");
    lines.push(
      `complete -c strand -n "not __fish_seen_subcommand_from ${names} help" -a ${name} -d '${quoted}'`,
    );
  }
  lines.push(`complete -c strand -n "__fish_seen_subcommand_from help" -a "${names}"`);
  for (const [name, flags] of commands) {
    for (const flag of flags) {
      lines.push(`complete -c strand -n "__fish_seen_subcommand_from ${name}" -l ${flag.slice(2)}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

/** The completion script for `shell` over `commands` (name → summary and help). */
export function completionScript(
  shell: string,
  commands: Record<string, { summary: string; help: string }>,
): string {
  const flags = new Map(Object.entries(commands).map(([name, c]) => [name, flagsOf(c.help)]));
  const summaries = new Map(Object.entries(commands).map(([name, c]) => [name, c.summary]));
  if (shell === "bash") return bash(flags);
  if (shell === "zsh") return zsh(flags, summaries);
  if (shell === "fish") return fish(flags, summaries);
  throw new CliError(`Cannot complete for "${shell}": expected bash, zsh or fish`);
}
