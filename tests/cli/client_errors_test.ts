/**
 * Client commands explain a failed connection in one line naming the cause and the flag that
 * fixes it, against nodes started as the shipped `deno task start` starts them.
 */
import { assert, assertEquals, makeCertificates } from "../security/_helpers.ts";
import { runCli, serve, type ServedNode } from "../security/_serve.ts";
import { tempDir } from "../e2e/_node.ts";
import { freePort } from "../_ports.ts";

/** Starts one single (not clustered) node in `dir/name` with `args` (and the files it reads). */
async function node(dir: string, name: string, files: string[], args: string[]) {
  const dataDir = `${dir}/${name}`;
  await Deno.mkdir(dataDir);
  return await serve(dataDir, files, [...args, "--bind-addr", "127.0.0.1:0"]);
}

/** Runs the CLI and checks it failed with exit 1 and one line of stderr holding `expected`. */
async function assertOneLineFailure(args: string[], expected: string[]): Promise<string> {
  const result = await runCli(args);
  const lines = result.stderr.trimEnd().split("\n");
  assertEquals([result.code, lines.length], [1, 1], result.stderr);
  for (const text of expected) assert(lines[0]!.includes(text), `${text} not in: ${lines[0]}`);
  return lines[0]!;
}

Deno.test("client errors: TLS mistakes are named with the flag that fixes them", async () => {
  await using work = await tempDir();
  const files = await makeCertificates(`${work.path}/certs`, ["root"]);
  const other = await makeCertificates(`${work.path}/other`, ["root"]);
  const tlsArgs = ["--server-tls-cert-file", files.nodeCertFile];
  tlsArgs.push("--server-tls-key-file", files.nodeKeyFile);
  const nodeFiles = [files.nodeCertFile, files.nodeKeyFile, files.caFile];
  const nodes: ServedNode[] = [];
  try {
    const [plain, tls, mtls] = await Promise.all([
      node(work.path, "plain", [], []),
      node(work.path, "tls", nodeFiles, tlsArgs),
      node(work.path, "mtls", nodeFiles, [...tlsArgs, "--server-tls-ca-file", files.caFile]),
    ]);
    nodes.push(plain, tls, mtls);
    const at = (served: ServedNode) => ["--addr", `127.0.0.1:${served.rpcPort}`];
    const ca = (file = files.caFile) => ["--tls-ca-file", file];
    const cert = (set = files) => [
      ...["--tls-cert-file", set.client("root").certFile],
      ...["--tls-key-file", set.client("root").keyFile],
    ];
    await assertOneLineFailure(["servers", ...at(tls)], [
      "Cannot connect to 127.0.0.1:",
      "the node requires TLS; add --tls-ca-file",
    ]);
    await assertOneLineFailure(["produce", ...at(mtls), "x"], [
      "the node requires mutual TLS",
      "--tls-ca-file",
      "--tls-cert-file and --tls-key-file",
    ]);
    await assertOneLineFailure(["consume", ...at(mtls), ...ca()], [
      "the node requires a client certificate (mutual TLS); add --tls-cert-file and " +
      "--tls-key-file",
    ]);
    await assertOneLineFailure(["servers", ...at(mtls), ...ca(), ...cert(other)], [
      `the node refused the client certificate in --tls-cert-file (${
        other.client("root").certFile
      })`,
    ]);
    await assertOneLineFailure(["servers", ...at(tls), ...ca(other.caFile)], [
      `the node's certificate is not signed by the CA in --tls-ca-file (${other.caFile})`,
    ]);
    await assertOneLineFailure(
      ["servers", ...at(tls), ...ca(), "--tls-server-name", "strand.example"],
      [
        "the node's certificate is not issued for strand.example (it names DNS:localhost, " +
        "IP Address:127.0.0.1); set --tls-server-name",
      ],
    );
    await assertOneLineFailure(["servers", ...at(plain), ...ca()], [
      "the node serves plaintext, not TLS; drop the --tls-* settings",
    ]);
    // The right settings work against the same nodes.
    const ok = await runCli(["servers", ...at(mtls), ...ca(), ...cert()]);
    assertEquals(ok.code, 0, ok.stderr);
  } finally {
    for (const served of nodes) assertEquals(await served.stop(), 0);
  }
});

Deno.test("client errors: nothing listening is named, with the address", async () => {
  // A free port below the ephemeral range: no other test's port-0 bind can take it meanwhile.
  const port = await freePort();
  const line = await assertOneLineFailure(["produce", "--addr", `127.0.0.1:${port}`, "x"], [
    `Cannot connect to 127.0.0.1:${port}: nothing is listening at 127.0.0.1:${port}`,
    "set --addr",
  ]);
  assert(!line.includes("No connection established"), line);
});

Deno.test("client errors: consume --from past the end fails unless --follow", async () => {
  await using work = await tempDir();
  const served = await node(work.path, "data", [], []);
  try {
    const addr = ["--addr", `127.0.0.1:${served.rpcPort}`];
    assertEquals((await runCli(["produce", ...addr, "a", "b"])).code, 0);
    await assertOneLineFailure(["consume", ...addr, "--from", "7"], [
      "Cannot read offset 7: the log holds offsets 0 to 1; add --follow to wait for offset 7",
    ]);
    // At the end exactly is past the end too; within the log it reads; no --from: all of it.
    await assertOneLineFailure(["consume", ...addr, "--from", "2"], ["Cannot read offset 2"]);
    const within = await runCli(["consume", ...addr, "--from", "1"]);
    assertEquals([within.code, within.stdout], [0, "b\n"], within.stderr);
    // With --follow it waits: the record produced later arrives.
    const follow = runCli(["consume", ...addr, "--from", "2", "--count", "1", "--follow"]);
    assertEquals((await runCli(["produce", ...addr, "c"])).code, 0);
    const followed = await follow;
    assertEquals([followed.code, followed.stdout], [0, "c\n"], followed.stderr);
  } finally {
    assertEquals(await served.stop(), 0);
  }
});

Deno.test("client errors: consume of an empty log without --from prints nothing, exits 0", async () => {
  await using work = await tempDir();
  const served = await node(work.path, "data", [], []);
  try {
    const result = await runCli(["consume", "--addr", `127.0.0.1:${served.rpcPort}`]);
    assertEquals([result.code, result.stdout, result.stderr], [0, "", ""]);
  } finally {
    assertEquals(await served.stop(), 0);
  }
});
