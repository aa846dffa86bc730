/**
 * `deno task proto`: regenerates `proto/gen/log.js` and `proto/gen/log.d.ts` from
 * `log.proto` and `health.proto` with protobufjs-cli (static code, so nothing reads a
 * `.proto` file at run time and `deno compile` needs no extra files).
 * @module
 */

const here = new URL(".", import.meta.url);
const gen = new URL("gen/", here);
const cli = "npm:protobufjs-cli@2.7.1";

async function run(tool: string, args: string[]): Promise<void> {
  const command = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${cli}/${tool}`, ...args],
    cwd: here.pathname,
    stdout: "inherit",
    stderr: "inherit",
  });
  const { success } = await command.output();
  if (!success) throw new Error(`Cannot generate the protobuf code: ${tool} failed`);
}

async function patch(file: URL, edit: (text: string) => string): Promise<void> {
  await Deno.writeTextFile(file, edit(await Deno.readTextFile(file)));
}

if (import.meta.main) {
  await Deno.mkdir(gen, { recursive: true });
  await run("pbjs", [
    ...["-t", "static-module", "-w", "es6", "--dependency", "protobufjs/minimal"],
    ...["--no-verify", "--no-convert", "--no-delimited", "--no-service"],
    ...["-o", "gen/log.js", "log.proto", "health.proto"],
  ]);
  await run("pbts", ["-o", "gen/log.d.ts", "gen/log.js"]);
  // Deno finds the declarations through this directive; pbts emits a CommonJS `long` import
  // that Deno cannot resolve, and proto/mod.ts turns Long off (uint64 decodes as number).
  await patch(new URL("log.js", gen), (text) => `// @ts-self-types="./log.d.ts"\n${text}`);
  await patch(
    new URL("log.d.ts", gen),
    (text) =>
      text.replace(
        'import Long = require("long");',
        "type Long = { low: number; high: number; unsigned: boolean };",
      ),
  );
}
