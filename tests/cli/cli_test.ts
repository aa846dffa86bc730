import { collectSettings } from "../../cli/_serve.ts";
import { splitHostPort } from "../../cli/_config.ts";
import { assert, assertEquals } from "../server/_assert.ts";
import { runCli, startNode, tempDir } from "../e2e/_node.ts";

Deno.test("cli: --help lists the commands; an unknown command exits 2", async () => {
  const help = await runCli(["--help"]);
  assertEquals(help.code, 0);
  for (const name of ["serve", "produce", "consume", "servers", "certs"]) {
    assert(help.stdout.includes(`  ${name}`), help.stdout);
  }
  const unknown = await runCli(["frobnicate"]);
  assertEquals(unknown.code, 2);
  assert(unknown.stderr.includes('unknown command "frobnicate"'), unknown.stderr);
  const serveHelp = await runCli(["serve", "--help"]);
  assert(serveHelp.stdout.includes("--start-join-addrs"), serveHelp.stdout);
});

Deno.test("cli: flags of features not built yet are rejected, never ignored", async () => {
  const cases: [string[], string][] = [
    [["--server-tls-cert-file", "x.pem"], "--server-tls-cert-file and --server-tls-key-file go"],
    [["--acl-model-file", "m.conf"], "--acl-model-file and --acl-policy-file go together"],
    [
      ["--start-join-addrs", "nowhere"],
      "Cannot use --start-join-addrs=nowhere: expected host:port",
    ],
    [["--no-such-flag"], "Unknown option '--no-such-flag'"],
    [["--fsync", "sometimes"], 'Cannot parse fsync policy "sometimes"'],
  ];
  for (const [args, message] of cases) {
    const result = await runCli(["serve", ...args]);
    assertEquals(result.code, 2, args.join(" "));
    assert(result.stderr.includes(message), result.stderr);
  }
  const consume = await runCli(["consume", "--tls-ca-file", "missing-ca.pem"]);
  assert(consume.stderr.includes("Cannot read CA file missing-ca.pem"), consume.stderr);
  const halfTls = await runCli(["consume", "--tls-cert-file", "c.pem"]);
  assert(halfTls.stderr.includes("--tls-cert-file and --tls-key-file go"), halfTls.stderr);
});

Deno.test("cli: settings layer defaults < config file < STRAND_* env < flags", async () => {
  await using dir = await tempDir();
  const defaults = await collectSettings([]);
  assertEquals(
    [defaults.dataDir, defaults.bindHost, defaults.gossipPort, defaults.rpcPort, defaults.httpPort],
    ["./data", "127.0.0.1", 8401, 8400, 8402],
  );
  const file = `${dir.path}/strand.yaml`;
  await Deno.writeTextFile(
    file,
    "data-dir: /from/file\nrpc-port: 9000\nhttp-port: 9002\nfsync: interval=50\n",
  );
  Deno.env.set("STRAND_RPC_PORT", "9100");
  Deno.env.set("STRAND_NODE_NAME", "env-node");
  try {
    const layered = await collectSettings(["--config-file", file, "--node-name", "flag-node"]);
    assertEquals(
      [layered.dataDir, layered.rpcPort, layered.httpPort, layered.nodeName],
      ["/from/file", 9100, 9002, "flag-node"],
    );
    assertEquals(layered.log.fsync, { mode: "interval", intervalMs: 50 });
  } finally {
    Deno.env.delete("STRAND_RPC_PORT");
    Deno.env.delete("STRAND_NODE_NAME");
  }
  const json = `${dir.path}/strand.json`;
  await Deno.writeTextFile(json, JSON.stringify({ "bind-addr": "[::1]:7000", bootstrap: true }));
  const fromJson = await collectSettings(["--config-file", json]);
  assertEquals([fromJson.bindHost, fromJson.gossipPort, fromJson.bootstrap], ["::1", 7000, true]);
  await Deno.writeTextFile(json, JSON.stringify({ "data-dri": "typo" }));
  const typo = await collectSettings(["--config-file", json]).catch((e: Error) => e.message);
  assert(String(typo).includes('unknown setting "data-dri"'), String(typo));
});

Deno.test("cli: host:port parsing names the flag on errors", () => {
  assertEquals(splitHostPort("localhost:8400", "--addr"), { host: "localhost", port: 8400 });
  let message = "";
  try {
    splitHostPort("8400", "--bind-addr");
  } catch (error) {
    message = (error as Error).message;
  }
  assert(message.startsWith("Cannot use --bind-addr=8400"), message);
});

Deno.test("cli: produce, consume and servers against a running node", async () => {
  await using dir = await tempDir();
  const node = await startNode(dir.path);
  const addr = ["--addr", node.rpcAddr];
  try {
    const args = await runCli(["produce", ...addr, "alpha", "beta"]);
    assertEquals([args.code, args.stdout], [0, "0\n1\n"]);
    const stdin = await runCli(["produce", ...addr], "gamma\ndelta\n");
    assertEquals(stdin.stdout, "2\n3\n");
    const file = `${dir.path}/records.txt`;
    await Deno.writeTextFile(file, "epsilon\n");
    assertEquals((await runCli(["produce", ...addr, "--file", file])).stdout, "4\n");

    const all = await runCli(["consume", ...addr]);
    assertEquals(all.stdout, "alpha\nbeta\ngamma\ndelta\nepsilon\n");
    const some = await runCli(["consume", ...addr, "--from", "3", "--output", "json"]);
    const lines = some.stdout.trim().split("\n").map((line) => JSON.parse(line));
    assertEquals(lines.map((l) => [l.offset, atob(l.value)]), [[3, "delta"], [4, "epsilon"]]);
    const pastEnd = await runCli(["consume", ...addr, "--from", "9"]);
    assertEquals([pastEnd.code, pastEnd.stdout], [1, ""]);
    assert(pastEnd.stderr.includes("the log holds offsets 0 to 4"), pastEnd.stderr);
    const follow = await runCli(["consume", ...addr, "--from", "1", "--count", "2", "--follow"]);
    assertEquals(follow.stdout, "beta\ngamma\n");

    const servers = await runCli(["servers", ...addr]);
    assert(servers.stdout.includes(`${node.rpcAddr}\tleader`), servers.stdout);
  } finally {
    assertEquals(await node.stop(), 0);
  }
});

Deno.test("cli: a client command reports an unreachable server as an error", async () => {
  const result = await runCli(["produce", "--addr", "127.0.0.1:1", "x"]);
  assertEquals(result.code, 1);
  assert(result.stderr.includes("nothing is listening at 127.0.0.1:1"), result.stderr);
});
