import { assertEquals } from "./_helpers.ts";
import { tempDir } from "./_helpers.ts";

/** Writes inside the data dir, then outside it, and reports what the runtime said. */
const PROBE = `
const [dataDir, outside] = Deno.args;
await Deno.writeTextFile(dataDir + "/inside.txt", "ok");
try {
  await Deno.writeTextFile(outside, "should never be written");
  console.log("written");
} catch (error) {
  // Deno 2 reports a refused permission as NotCapable (PermissionDenied is the OS's).
  console.log(error instanceof Deno.errors.NotCapable ? "NotCapable" : String(error));
}
`;

async function runProbe(flags: string[], dataDir: string, outside: string, cwd: string) {
  const probe = `${cwd}/probe.ts`;
  await Deno.writeTextFile(probe, PROBE);
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "--no-config", "--no-lock", ...flags, probe, dataDir, outside],
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: output.code, stdout: new TextDecoder().decode(output.stdout).trim() };
}

Deno.test("least privilege: the runtime refuses a write outside the data dir", async () => {
  await using work = await tempDir();
  const dataDir = `${work.path}/data`;
  await Deno.mkdir(dataDir);
  const outside = `${work.path}/outside.txt`;
  const flags = ["--allow-net", `--allow-read=${dataDir}`, `--allow-write=${dataDir}`];
  const result = await runProbe(flags, dataDir, outside, work.path);
  assertEquals(result, { code: 0, stdout: "NotCapable" });
  assertEquals(await Deno.readTextFile(`${dataDir}/inside.txt`), "ok");
  let exists = true;
  await Deno.stat(outside).catch(() => exists = false);
  assertEquals(exists, false, "nothing was written outside the data dir");
});

Deno.test("least privilege: the same probe writes outside when given broad permissions", async () => {
  // The control experiment: proves the refusal above comes from the flags, not the probe.
  await using work = await tempDir();
  const dataDir = `${work.path}/data`;
  await Deno.mkdir(dataDir);
  const outside = `${work.path}/outside.txt`;
  const result = await runProbe(["--allow-write", "--allow-read"], dataDir, outside, work.path);
  assertEquals(result, { code: 0, stdout: "written" });
});
