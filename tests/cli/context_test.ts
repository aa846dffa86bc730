/**
 * Client contexts: `strand context add|use|list|show|rm` with a temp config dir, the
 * precedence flags > environment > context > defaults, and a mutual TLS node reached with no
 * flags at all.
 */
import { resolveClientSettings } from "../../cli/_client_settings.ts";
import { saveContexts } from "../../cli/_context.ts";
import { assert, assertEquals, makeCertificates } from "../security/_helpers.ts";
import { serve } from "../security/_serve.ts";
import { tempDir } from "../e2e/_node.ts";
import { strand } from "./_strand.ts";

Deno.test("context: add, use, list, show and rm keep contexts.json (0600) in the config dir", async () => {
  await using work = await tempDir();
  const env = { STRAND_CONFIG_DIR: `${work.path}/config` };
  await Deno.writeTextFile(`${work.path}/ca.pem`, "not checked here");
  const added = await strand(
    ["context", "add", "prod", "--addr", "prod.example:8400", "--tls-ca-file", "ca.pem"],
    { env, cwd: work.path },
  );
  assertEquals(added.code, 0, added.stderr);
  assertEquals((await strand(["context", "add", "dev", "--addr", "127.0.0.1:1"], { env })).code, 0);
  const path = `${work.path}/config/contexts.json`;
  assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
  const stored = JSON.parse(await Deno.readTextFile(path));
  // A relative file path is saved absolute; adding does not select without --use.
  assertEquals(stored.contexts.prod["tls-ca-file"], `${work.path}/ca.pem`);
  assertEquals(stored.current, undefined);

  assertEquals((await strand(["context", "use", "prod"], { env })).code, 0);
  const listed = await strand(["context", "list"], { env });
  assertEquals(listed.stdout, "  dev   127.0.0.1:1\n* prod  prod.example:8400  tls\n");
  const shown = await strand(["context", "show"], { env });
  assert(shown.stdout.includes("addr             prod.example:8400  (context prod)"), shown.stdout);
  const named = await strand(["context", "show", "dev"], { env });
  assertEquals(named.stdout, "addr             127.0.0.1:1\n");

  const removed = await strand(["context", "rm", "prod"], { env });
  assert(removed.stdout.includes("no context is current now"), removed.stdout);
  assertEquals(JSON.parse(await Deno.readTextFile(path)).current, undefined);
  assertEquals((await strand(["context", "list"], { env })).stdout, "  dev  127.0.0.1:1\n");
  // Nothing else is left in the directory (no temp files).
  const entries = [];
  for await (const entry of Deno.readDir(`${work.path}/config`)) entries.push(entry.name);
  assertEquals(entries, ["contexts.json"]);
});

Deno.test("context: mistakes are refused in one line, the file left as it was", async () => {
  await using work = await tempDir();
  const env = { STRAND_CONFIG_DIR: `${work.path}/config` };
  const cases: [string[], string][] = [
    [["context", "use", "nope"], "Cannot use context nope: there is no such context"],
    [["context", "rm", "nope"], "Cannot remove context nope: there is no such context"],
    [["context", "add", "empty"], "Cannot save an empty context"],
    [["context", "add", "bad name", "--addr", "x:1"], 'Cannot use "bad name" as a context name'],
    [["context", "add", "x", "--tls-ca-file", "missing.pem"], "Cannot use --tls-ca-file=missing"],
    [["servers", "--context", "nope"], 'Cannot use context "nope" (from --context)'],
    [["context", "frob"], 'Unknown context command "frob"'],
  ];
  for (const [args, message] of cases) {
    const result = await strand(args, { env });
    assertEquals(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
    assert(result.stderr.includes(message), result.stderr);
  }
  await Deno.mkdir(`${work.path}/config`);
  await Deno.writeTextFile(`${work.path}/config/contexts.json`, "{not json");
  const corrupt = await strand(["context", "list"], { env });
  assertEquals(corrupt.code, 1);
  assert(corrupt.stderr.includes("Cannot use contexts file"), corrupt.stderr);
  assert(corrupt.stderr.includes("fix it or remove it"), corrupt.stderr);
  // A client command with a broken contexts file says so rather than ignoring it.
  const client = await strand(["servers"], { env });
  assert(client.stderr.includes("Cannot use contexts file"), client.stderr);
  assertEquals(await Deno.readTextFile(`${work.path}/config/contexts.json`), "{not json");
});

Deno.test("context: a failed save leaves the old file whole and says so", async () => {
  await using work = await tempDir();
  const path = `${work.path}/contexts.json`;
  await saveContexts(path, { current: "a", contexts: { a: { addr: "a:1" } } });
  // A directory where the temp file goes: the write fails before the rename.
  await Deno.mkdir(`${path}.${Deno.pid}.tmp`);
  const error = await saveContexts(path, { contexts: {} }).then(() => null, (e: Error) => e);
  assert(error?.message.includes(`Cannot write contexts file ${path}`), String(error));
  assertEquals(JSON.parse(await Deno.readTextFile(path)).current, "a");
  // The failed save cleaned up after itself (the empty directory in the way included).
  await Deno.remove(`${path}.${Deno.pid}.tmp`).catch(() => {});
  // A stale temp file (a crash between write and rename) is overwritten, with mode 0600.
  await Deno.writeTextFile(`${path}.${Deno.pid}.tmp`, "stale", { mode: 0o644 });
  await saveContexts(path, { contexts: { b: { addr: "b:1" } } });
  assertEquals(JSON.parse(await Deno.readTextFile(path)), { contexts: { b: { addr: "b:1" } } });
  assertEquals((await Deno.stat(path)).mode! & 0o777, 0o600);
});

/** Sets environment variables for `run` and restores them after. */
async function withEnv<T>(vars: Record<string, string>, run: () => Promise<T>): Promise<T> {
  const names = [
    ...Object.keys(vars),
    "STRAND_ADDR",
    "STRAND_CONTEXT",
    "STRAND_TLS_CA_FILE",
    "STRAND_TLS_SERVER_NAME",
  ];
  const saved = new Map(names.map((name) => [name, Deno.env.get(name)]));
  for (const name of names) Deno.env.delete(name);
  for (const [name, value] of Object.entries(vars)) Deno.env.set(name, value);
  try {
    return await run();
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) Deno.env.delete(name);
      else Deno.env.set(name, value);
    }
  }
}

Deno.test("context: precedence is flags > environment > context > defaults", async () => {
  await using work = await tempDir();
  await saveContexts(`${work.path}/contexts.json`, {
    current: "cur",
    contexts: {
      cur: { addr: "ctx:1", "tls-ca-file": "/ctx/ca.pem", "tls-server-name": "ctx.name" },
      other: { addr: "other:2" },
    },
  });
  const dir = { STRAND_CONFIG_DIR: work.path };
  await withEnv(dir, async () => {
    const fromContext = await resolveClientSettings({});
    assertEquals(fromContext.values, {
      addr: "ctx:1",
      "tls-ca-file": "/ctx/ca.pem",
      "tls-server-name": "ctx.name",
    });
    assertEquals(fromContext.sources.addr, "context cur");
    const named = await resolveClientSettings({ context: "other" });
    assertEquals([named.values.addr, named.values["tls-ca-file"]], ["other:2", undefined]);
    const none = await resolveClientSettings({ context: "" });
    assertEquals([none.values.addr, none.sources.addr], ["127.0.0.1:8400", "default"]);
  });
  await withEnv({ ...dir, STRAND_ADDR: "env:3", STRAND_CONTEXT: "other" }, async () => {
    const fromEnv = await resolveClientSettings({});
    assertEquals([fromEnv.values.addr, fromEnv.sources.addr], ["env:3", "env STRAND_ADDR"]);
    assertEquals(fromEnv.context, "other");
    const flag = await resolveClientSettings({ addr: "flag:4", context: "cur" });
    assertEquals([flag.values.addr, flag.sources.addr], ["flag:4", "flag"]);
    assertEquals(flag.values["tls-server-name"], "ctx.name");
  });
  await withEnv({ ...dir, STRAND_TLS_SERVER_NAME: "env.name" }, async () => {
    const mixed = await resolveClientSettings({});
    assertEquals([mixed.values.addr, mixed.values["tls-server-name"]], ["ctx:1", "env.name"]);
  });
  // No config dir known and no context asked for: defaults, no error.
  await withEnv({ HOME: "", XDG_CONFIG_HOME: "", STRAND_CONFIG_DIR: "" }, async () => {
    assertEquals((await resolveClientSettings({})).values, { addr: "127.0.0.1:8400" });
  });
});

Deno.test("context: a mutual TLS node is reached with no flags, from a context or the env", async () => {
  await using work = await tempDir();
  const files = await makeCertificates(`${work.path}/certs`, ["root"]);
  const dataDir = `${work.path}/data`;
  await Deno.mkdir(dataDir);
  const node = await serve(dataDir, [files.nodeCertFile, files.nodeKeyFile, files.caFile], [
    ...["--server-tls-cert-file", files.nodeCertFile, "--server-tls-key-file", files.nodeKeyFile],
    ...["--server-tls-ca-file", files.caFile, "--bind-addr", "127.0.0.1:0"],
  ]);
  try {
    const addr = `127.0.0.1:${node.rpcPort}`;
    const env = { STRAND_CONFIG_DIR: `${work.path}/config` };
    const add = await strand([
      ...["context", "add", "secure", "--use", "--addr", addr, "--tls-ca-file", files.caFile],
      ...["--tls-cert-file", files.client("root").certFile],
      ...["--tls-key-file", files.client("root").keyFile],
    ], { env });
    assertEquals(add.code, 0, add.stderr);
    const produced = await strand(["produce", "hello"], { env });
    assertEquals([produced.code, produced.stdout], [0, "0\n"], produced.stderr);
    const consumed = await strand(["consume"], { env });
    assertEquals([consumed.code, consumed.stdout], [0, "hello\n"], consumed.stderr);
    // The environment alone does it too, with no context.
    const tlsEnv = {
      STRAND_ADDR: addr,
      STRAND_TLS_CA_FILE: files.caFile,
      STRAND_TLS_CERT_FILE: files.client("root").certFile,
      STRAND_TLS_KEY_FILE: files.client("root").keyFile,
    };
    const viaEnv = await strand(["consume"], { env: tlsEnv });
    assertEquals([viaEnv.code, viaEnv.stdout], [0, "hello\n"], viaEnv.stderr);
    // A flag overrides the context; the error names where the other settings came from.
    const elsewhere = await strand(["consume", "--addr", "127.0.0.1:1"], { env });
    assertEquals(elsewhere.code, 1);
    assert(elsewhere.stderr.includes("tls-ca-file from context secure"), elsewhere.stderr);
    // --context "" ignores the current context: plaintext to a TLS node, named as such.
    const plain = await strand(["consume", "--context", "", "--addr", addr], { env });
    assert(plain.stderr.includes("the node requires mutual TLS"), plain.stderr);
  } finally {
    assertEquals(await node.stop(), 0);
  }
});
