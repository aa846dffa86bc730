import { RUNTIME_ENV_VARIABLES } from "../../security/mod.ts";
import {
  assertEquals,
  BOOK_MODEL_FILE,
  BOOK_POLICY_FILE,
  makeCertificates,
  tempDir,
} from "./_helpers.ts";

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

Deno.test("least privilege: TLS, ACL and reload run with read-only certificate and policy files", async () => {
  await using work = await tempDir();
  const dir = `${work.path}/certs`;
  const dataDir = `${work.path}/data`;
  await Deno.mkdir(dataDir);
  await makeCertificates(dir, []);
  await Deno.copyFile(BOOK_MODEL_FILE, `${dir}/model.conf`);
  await Deno.copyFile(BOOK_POLICY_FILE, `${dir}/policy.csv`);
  await Deno.writeTextFile(`${work.path}/probe-secret.txt`, "secret");
  const readOnly = ["node-1.pem", "node-1-key.pem", "ca.pem", "model.conf", "policy.csv"]
    .map((name) => `${dir}/${name}`);
  const probe = new URL("./testdata/least_privilege_probe.ts", import.meta.url).pathname;
  const output = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--no-prompt",
      `--config=${new URL("../../deno.json", import.meta.url).pathname}`,
      "--allow-net=127.0.0.1",
      `--allow-env=${RUNTIME_ENV_VARIABLES.join(",")}`,
      `--allow-read=${dataDir},${readOnly.join(",")}`,
      `--allow-write=${dataDir}`,
      probe,
      dir,
      dataDir,
      `${work.path}/outside.txt`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(output.stderr);
  assertEquals(output.code, 0, stderr);
  assertEquals(JSON.parse(new TextDecoder().decode(output.stdout)), {
    up: true,
    writeOutside: "NotCapable",
    readOutside: "NotCapable",
    writeCertificate: "NotCapable",
    run: "NotCapable",
  });
});
