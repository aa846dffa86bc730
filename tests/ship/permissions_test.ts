/**
 * The shipped permissions (deno.json's start task, run with every one of its flags): config
 * files work, paths outside what the binary may touch are refused with one line, and the
 * binary can reach the conventional system paths and nothing else.
 */
import { assert, assertEquals } from "../server/_assert.ts";
import { SHIPPED_READ_PATHS, SHIPPED_WRITE_PATHS } from "../../cli/_permissions.ts";
import { flagList, permissionFlags, runShipped, startShipped, tempDir } from "./_shipped.ts";

async function produceAndRead(httpUrl: string): Promise<void> {
  const produced = await fetch(`${httpUrl}/v1/records`, {
    method: "POST",
    body: JSON.stringify({ value: btoa("shipped") }),
  });
  assertEquals(await produced.json(), {
    offset: 0,
    count: 1,
    replicasFsynced: 1,
    commitIndex: 0,
    duplicate: false,
    durable: true,
  });
  const read = await fetch(`${httpUrl}/v1/records/0`);
  assertEquals((await read.json()).value, btoa("shipped"));
}

for (
  const [name, text] of [
    ["strand.yaml", "rpc-port: 0\nhttp-port: 0\nnode-name: yaml-node\nlog-level: warn\n"],
    ["strand.json", '{"rpc-port": 0, "http-port": 0, "node-name": "json-node"}\n'],
  ] as const
) {
  Deno.test(`shipped permissions: a ${name} config file in ./data works`, async () => {
    await using work = await tempDir();
    await Deno.mkdir(`${work.path}/data`);
    await Deno.writeTextFile(`${work.path}/data/${name}`, text);
    // LOG_TOKENS makes the yaml package dump its tokens; the shipped flags ignore it.
    const node = await startShipped(work.path, ["--config-file", `data/${name}`], {
      LOG_TOKENS: "1",
      LOG_STREAM: "1",
    });
    try {
      assert(node.output().includes(name.endsWith("yaml") ? "yaml-node" : "json-node"));
      await produceAndRead(node.httpUrl);
    } finally {
      assertEquals(await node.stop(), 0, node.output());
    }
    assert(!node.output().includes("Requires"), node.output());
    assert(!node.output().includes("| <SCALAR>"), `yaml dumped its tokens:\n${node.output()}`);
  });
}

/** Asserts a refusal: exit 2, one line on stderr, no stack trace, nothing on stdout. */
function assertOneLine(result: { code: number; stdout: string; stderr: string }): string {
  assertEquals(result.code, 2, result.stderr);
  const lines = result.stderr.trim().split("\n");
  assertEquals(lines.length, 1, result.stderr);
  assert(!/NotCapable|\s+at\s/.test(result.stderr), result.stderr);
  assertEquals(result.stdout, "");
  return lines[0]!;
}

Deno.test("shipped permissions: a data dir outside gets one line naming where it may write", async () => {
  await using work = await tempDir();
  const outside = `${work.path}/elsewhere`;
  const line = assertOneLine(await runShipped(work.path, ["serve", "--data-dir", outside]));
  assertEquals(
    line,
    `strand serve: Cannot use --data-dir=${outside}: strand may write only under ./data and ` +
      `/var/lib/strand; use a data dir there, or run it with --allow-read=${outside} ` +
      `--allow-write=${outside} (deno run, or deno compile to build a binary that may)`,
  );
  let created = true;
  await Deno.stat(outside).catch(() => created = false);
  assertEquals(created, false, "nothing was created outside");
});

Deno.test("shipped permissions: a data dir that climbs out of ./data is refused", async () => {
  await using work = await tempDir();
  await Deno.mkdir(`${work.path}/data`);
  const result = await runShipped(work.path, ["serve", "--data-dir", "data/../elsewhere"]);
  assert(
    assertOneLine(result).startsWith("strand serve: Cannot use --data-dir=data/../elsewhere: "),
  );
  let created = true;
  await Deno.stat(`${work.path}/elsewhere`).catch(() => created = false);
  assertEquals(created, false, "nothing was created outside");
});

Deno.test("shipped permissions: STRAND_DATA_DIR outside is refused the same way", async () => {
  await using work = await tempDir();
  const result = await runShipped(work.path, ["serve"], { env: { STRAND_DATA_DIR: "/tmp" } });
  assert(assertOneLine(result).startsWith("strand serve: Cannot use --data-dir=/tmp: "));
});

Deno.test("shipped permissions: a config or TLS file outside gets one line naming where it may read", async () => {
  await using work = await tempDir();
  const file = `${work.path}/strand.yaml`;
  await Deno.writeTextFile(file, "rpc-port: 0\n");
  const line = assertOneLine(await runShipped(work.path, ["serve", "--config-file", file]));
  assertEquals(
    line,
    `strand serve: Cannot read --config-file=${file}: strand may read only under ./data, ` +
      `./certs, /etc/strand and /var/lib/strand; move the file there, or run it with ` +
      `--allow-read=${file} (deno run, or deno compile to build a binary that may)`,
  );
  const tls = assertOneLine(
    await runShipped(work.path, [
      "serve",
      ...["--server-tls-cert-file", file, "--server-tls-key-file", "certs/key.pem"],
    ]),
  );
  assert(tls.startsWith(`strand serve: Cannot read --server-tls-cert-file=${file}: `), tls);
});

const PROBE = `
const ask = (name, path) => Deno.permissions.querySync({ name, path }).state;
console.log(JSON.stringify(Deno.args.map((item) => {
  const [name, path] = item.split(":");
  return ask(name, path);
})));
`;

Deno.test("shipped permissions: the binary's paths are ./data, ./certs, /etc/strand, /var/lib/strand", async () => {
  await using work = await tempDir();
  const probe = `${work.path}/probe.js`;
  await Deno.writeTextFile(probe, PROBE);
  const asks = [
    ["write", `${work.path}/data/log`],
    ["read", `${work.path}/certs/ca.pem`],
    ["write", "/var/lib/strand/log"],
    ["read", "/etc/strand/strand.yaml"],
    ["read", "/var/lib/strand/strand.yaml"],
    ["write", `${work.path}/certs/ca.pem`],
    ["write", "/etc/strand/strand.yaml"],
    ["read", `${work.path}/probe-secret`],
    ["read", "/etc/passwd"],
    ["write", "/var/lib/other"],
    ["read", "/var/lib/strand-other"],
  ];
  const result = await runShipped(work.path, asks.map(([n, p]) => `${n}:${p}`), {
    script: probe,
  });
  assertEquals(result.code, 0, result.stderr);
  const states = JSON.parse(result.stdout) as string[];
  assertEquals(
    Object.fromEntries(asks.map(([n, p], i) => [`${n} ${p}`, states[i]])),
    Object.fromEntries(asks.map(([n, p], i) => [`${n} ${p}`, i < 5 ? "granted" : "prompt"])),
  );
});

Deno.test("shipped permissions: start and compile grant the same, and the refusal text matches", () => {
  assertEquals(permissionFlags("compile"), permissionFlags("start"));
  assertEquals(flagList("start", "allow-read"), [...SHIPPED_READ_PATHS]);
  assertEquals(flagList("start", "allow-write"), [...SHIPPED_WRITE_PATHS]);
  assert(permissionFlags("start").includes("--no-prompt"), "a server must never prompt");
  for (const broad of ["-A", "--allow-all", "--allow-run", "--allow-ffi", "--allow-read"]) {
    assert(!permissionFlags("start").includes(broad), `start task has ${broad}`);
  }
});
