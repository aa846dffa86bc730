/**
 * `serve` with a data directory it cannot use, run with the exact flags of `deno task start`:
 * one line on stderr naming the path and the cause (never "Uncaught" and a stack), exit 1.
 * The permission and read-only cases need a process without root's file access
 * (`setpriv`) and a read-only mount of its own (`unshare`); they are skipped without them.
 */
import { dataDirError } from "../../cli/_errors.ts";
import { openLog } from "../../log/mod.ts";
import { assert, assertEquals } from "../server/_assert.ts";
import { denoJsonPath, mainPath, permissionFlags, tempDir } from "../ship/_shipped.ts";

function works(command: string, args: string[]): boolean {
  try {
    return new Deno.Command(command, { args, stdout: "null", stderr: "null" }).outputSync()
      .success;
  } catch {
    return false;
  }
}

/** Root without the capabilities that bypass file permissions. */
const unprivileged = ["--bounding-set=-dac_override,-dac_read_search,-fowner"];
const canDropPrivileges = works("setpriv", [...unprivileged, "true"]);
const canMountReadOnly = works("unshare", ["-rm", "true"]);

/** `serve` as `deno task start` runs it, in `cwd`, behind an optional wrapper command. */
async function serve(cwd: string, dataDir: string, wrap: string[] = []) {
  const deno = [
    Deno.execPath(),
    "run",
    `--config=${denoJsonPath}`,
    ...permissionFlags("start"),
    mainPath,
    "serve",
    ...["--data-dir", dataDir, "--rpc-port", "0", "--http-port", "0", "--log-level", "error"],
  ];
  const [command, ...args] = [...wrap, ...deno];
  const output = await new Deno.Command(command!, {
    args,
    cwd,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: output.code, stderr: new TextDecoder().decode(output.stderr) };
}

function assertOneLine(result: { code: number; stderr: string }, expected: string): void {
  const lines = result.stderr.trimEnd().split("\n");
  assert(!/Uncaught|\s+at\s/.test(result.stderr), result.stderr);
  assertEquals(lines, [expected], result.stderr);
  assertEquals(result.code, 1);
}

Deno.test("data dir: a file in the way is one line with the path and the cause", async () => {
  await using work = await tempDir();
  await Deno.mkdir(`${work.path}/data`);
  await Deno.writeTextFile(`${work.path}/data/node`, "not a directory");
  assertOneLine(
    await serve(work.path, "./data/node"),
    "strand serve: Cannot use --data-dir=./data/node: Not a directory (os error 20): mkdir " +
      "'./data/node/log'; a file is in the way of a directory; move it away or choose another " +
      "--data-dir",
  );
});

Deno.test({
  name: "data dir: no permission is one line with the path and the cause",
  ignore: !canDropPrivileges,
  async fn() {
    await using work = await tempDir();
    await Deno.mkdir(`${work.path}/data/locked`, { recursive: true });
    await Deno.chown(`${work.path}/data/locked`, 65534, 65534);
    await Deno.chmod(`${work.path}/data/locked`, 0o700);
    assertOneLine(
      await serve(work.path, "./data/locked", ["setpriv", ...unprivileged]),
      "strand serve: Cannot use --data-dir=./data/locked: Permission denied (os error 13): " +
        "mkdir './data/locked/log'; give the user that runs strand read and write access to " +
        "it, or choose another --data-dir",
    );
  },
});

Deno.test({
  name: "data dir: a read-only file system is one line with the path and the cause",
  ignore: !canMountReadOnly,
  async fn() {
    await using work = await tempDir();
    await Deno.mkdir(`${work.path}/data/ro`, { recursive: true });
    // A mount namespace of the child's own: the read-only tmpfs vanishes with it.
    const mount = `mount -t tmpfs -o ro tmpfs ${work.path}/data/ro && exec "$@"`;
    assertOneLine(
      await serve(work.path, "./data/ro", ["unshare", "-rm", "sh", "-c", mount, "sh"]),
      "strand serve: Cannot use --data-dir=./data/ro: Read-only file system (os error 30): " +
        "mkdir './data/ro/log'; the file system is read-only; mount it read-write or choose " +
        "another --data-dir",
    );
  },
});

Deno.test("data dir: a log that cannot be opened (damaged segment header) is one line", async () => {
  await using work = await tempDir();
  const dir = `${work.path}/data/node/log`;
  const log = await openLog(dir, { fsync: { mode: "never" } });
  await log.append([new TextEncoder().encode("a")]);
  await log.close();
  const store = [...Deno.readDirSync(dir)].find((item) => item.name.endsWith(".store"))!;
  const raw = await Deno.readFile(`${dir}/${store.name}`);
  raw[20]! ^= 0x01; // inside the header, covered by its checksum
  await Deno.writeFile(`${dir}/${store.name}`, raw);
  const result = await serve(work.path, "./data/node");
  const lines = result.stderr.trimEnd().split("\n");
  assert(!/Uncaught|\s+at\s/.test(result.stderr), result.stderr);
  assertEquals(lines.length, 1, result.stderr);
  assert(lines[0]!.startsWith("strand serve: Cannot use --data-dir=./data/node: "), lines[0]);
  assertEquals(result.code, 1);
});

Deno.test("data dir: outside the shipped permissions is one line naming where it may write", async () => {
  await using work = await tempDir();
  const result = await serve(work.path, `${work.path}/elsewhere`);
  const line = result.stderr.trimEnd();
  assert(!line.includes("\n") && !/Uncaught|NotCapable/.test(line), result.stderr);
  assert(line.startsWith(`strand serve: Cannot use --data-dir=${work.path}/elsewhere: `), line);
  assert(line.includes("--allow-write="), line);
  assertEquals(result.code, 2, "refused before start, as a configuration error");
});

Deno.test("data dir: a NotCapable that reaches the log's open names the access and the remedy", () => {
  const error = new Deno.errors.NotCapable(
    'Requires write access to "/srv/strand/log", run again with the --allow-write flag',
  );
  assertEquals(
    dataDirError(error, "/srv/strand", ["./data", "/var/lib/strand"])?.message,
    'Cannot use --data-dir=/srv/strand: Requires write access to "/srv/strand/log", which this ' +
      "process's permissions do not grant (as shipped it may write only under ./data, " +
      "/var/lib/strand); use a data dir there, or widen them with --allow-read=/srv/strand " +
      "--allow-write=/srv/strand (deno run, or deno compile)",
  );
  const listen = Object.assign(new Error("Address in use"), { code: "EADDRINUSE" });
  assertEquals(dataDirError(listen, "/srv/strand", []), null, "not about the data dir");
});
