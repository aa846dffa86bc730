/**
 * `--version` everywhere, `strand help <command>` for every command, and shell completion
 * scripts that load in their shell and complete the commands and their flags.
 */
import { commands, runCli as runInProcess } from "../../cli/mod.ts";
import { STRAND_VERSION } from "../../server/mod.ts";
import { runCli } from "../e2e/_node.ts";
import { assert, assertEquals } from "../server/_assert.ts";

Deno.test("strand --version and <command> --version print Strand's and Deno's versions", async () => {
  const runs = await Promise.all([["--version"], ["status", "--version"], ["serve", "--version"]]
    .map((args) => runCli(args)));
  for (const run of runs) {
    assertEquals(run.code, 0, run.stderr);
    assert(run.stdout.startsWith(`strand ${STRAND_VERSION}\n`), run.stdout);
    assert(run.stdout.includes(`deno ${Deno.version.deno}`), run.stdout);
  }
});

Deno.test("strand help <command> prints that command's help for every command", async () => {
  // In-process: one spawn per command would cost seconds for what the table already decides.
  const printed: string[] = [];
  const log = console.log;
  const error = console.error;
  console.log = (text: string) => printed.push(text);
  console.error = () => {};
  try {
    for (const [name, command] of Object.entries(commands)) {
      printed.length = 0;
      assertEquals(await runInProcess(["help", name]), 0, name);
      assertEquals(printed, [command.help], name);
    }
    assertEquals(await runInProcess(["help", "nope"]), 2);
  } finally {
    console.log = log;
    console.error = error;
  }
  const serve = await runCli(["help", "serve"]);
  assertEquals(serve.code, 0, serve.stderr);
  assert(serve.stdout.includes("--rpc-port"), serve.stdout);
});

async function shell(name: string): Promise<string | null> {
  for (const dir of (Deno.env.get("PATH") ?? "").split(":")) {
    const path = `${dir}/${name}`;
    if (await Deno.stat(path).then((info) => info.isFile, () => false)) return path;
  }
  return null;
}

async function sh(program: string, args: string[]) {
  const output = await new Deno.Command(program, { args, stdout: "piped", stderr: "piped" })
    .output();
  const decoder = new TextDecoder();
  return {
    code: output.code,
    out: decoder.decode(output.stdout),
    err: decoder.decode(output.stderr),
  };
}

Deno.test("strand completion bash loads in bash and completes commands and flags", async () => {
  const bash = await shell("bash");
  assert(bash !== null, "bash is on PATH");
  const script = await runCli(["completion", "bash"]);
  assertEquals(script.code, 0, script.stderr);
  const file = await Deno.makeTempFile({ suffix: ".bash" });
  try {
    await Deno.writeTextFile(file, script.stdout);
    const probe = `source ${file}
complete -p strand
COMP_WORDS=(strand tra); COMP_CWORD=1; _strand; echo "1:\${COMPREPLY[*]}"
COMP_WORDS=(strand status --ou); COMP_CWORD=2; _strand; echo "2:\${COMPREPLY[*]}"
COMP_WORDS=(strand help rem); COMP_CWORD=2; _strand; echo "3:\${COMPREPLY[*]}"`;
    const run = await sh(bash!, ["-c", probe]);
    assertEquals(run.code, 0, run.err);
    assert(run.out.includes("complete -F _strand strand"), run.out);
    assert(run.out.includes("1:transfer-leadership\n"), run.out);
    assert(run.out.includes("2:--output\n"), run.out);
    assert(run.out.includes("3:remove-member\n"), run.out);
  } finally {
    await Deno.remove(file);
  }
});

Deno.test("strand completion zsh and fish: syntax-checked where the shell exists", async () => {
  for (const [name, check] of [["zsh", "-n"], ["fish", "--no-execute"]] as const) {
    const script = await runCli(["completion", name]);
    assertEquals(script.code, 0, script.stderr);
    assert(script.stdout.includes("remove-member"), script.stdout);
    assert(script.stdout.includes("transfer-leadership"), script.stdout);
    const program = await shell(name);
    if (program === null) {
      console.warn(`${name} is not installed: its completion script was not syntax-checked`);
      continue;
    }
    const file = await Deno.makeTempFile();
    try {
      await Deno.writeTextFile(file, script.stdout);
      const run = await sh(program, [check, file]);
      assertEquals(run.code, 0, `${name}: ${run.err}`);
      if (name === "fish") {
        const completed = await sh(program, ["-c", `source ${file}; complete -C 'strand tra'`]);
        assert(completed.out.startsWith("transfer-leadership\t"), completed.out + completed.err);
      }
    } finally {
      await Deno.remove(file);
    }
  }
  const bad = await runCli(["completion", "tcsh"]);
  assertEquals(bad.code, 2);
  assert(bad.stderr.includes("expected bash, zsh or fish"), bad.stderr);
});
