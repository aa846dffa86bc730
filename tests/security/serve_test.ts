/**
 * `strand serve` end to end with TLS, mutual TLS and the ACL, run as a least-privilege
 * child process that may only read its certificate and policy files.
 */
import * as grpc from "@grpc/grpc-js";
import { LogClient } from "../../client/mod.ts";
import { loadClientGrpcSecurity } from "../../security/mod.ts";
import {
  assert,
  assertEquals,
  BOOK_MODEL_FILE,
  BOOK_POLICY_FILE,
  codeOf,
  makeCertificates,
  tempDir,
  type TestCertificates,
} from "./_helpers.ts";
import { runCli, serve } from "./_serve.ts";

async function client(files: TestCertificates, subject: string, port: number) {
  const security = await loadClientGrpcSecurity({
    "tls-ca-file": files.caFile,
    "tls-cert-file": files.client(subject).certFile,
    "tls-key-file": files.client(subject).keyFile,
  });
  return new LogClient(`localhost:${port}`, { credentials: security.credentials });
}

Deno.test("serve with mTLS + ACL: root writes, nobody is denied until SIGHUP reloads the policy", async () => {
  await using work = await tempDir();
  const dataDir = `${work.path}/data`;
  await Deno.mkdir(dataDir);
  const files = await makeCertificates(`${work.path}/certs`);
  const modelFile = `${work.path}/certs/model.conf`;
  const policyFile = `${work.path}/certs/policy.csv`;
  await Deno.copyFile(BOOK_MODEL_FILE, modelFile);
  await Deno.copyFile(BOOK_POLICY_FILE, policyFile);
  const node = await serve(
    dataDir,
    [files.nodeCertFile, files.nodeKeyFile, files.caFile, modelFile, policyFile],
    [
      ...["--server-tls-cert-file", files.nodeCertFile, "--server-tls-key-file", files.nodeKeyFile],
      ...["--server-tls-ca-file", files.caFile],
      ...["--acl-model-file", modelFile, "--acl-policy-file", policyFile],
    ],
  );
  const root = await client(files, "root", node.rpcPort);
  const nobody = await client(files, "nobody", node.rpcPort);
  try {
    await node.waitFor("auth  mutual TLS (client certificates required), ACL");
    assert(!node.output().includes("INSECURE"), node.output());
    const value = new TextEncoder().encode("v");
    assertEquals(await root.produce(value), 0);
    assertEquals(await codeOf(() => nobody.produce(value)), grpc.status.PERMISSION_DENIED);
    assertEquals(await codeOf(() => nobody.consume(0)), grpc.status.PERMISSION_DENIED);

    await Deno.writeTextFile(policyFile, "p, root, *, produce\np, nobody, *, consume\n");
    node.signal("SIGHUP");
    await node.waitFor('"part":"acl"');
    assertEquals(await codeOf(() => nobody.consume(0)), "ok");
    assertEquals(await codeOf(() => nobody.produce(value)), grpc.status.PERMISSION_DENIED);
  } finally {
    root.close();
    nobody.close();
    assertEquals(await node.stop(), 0);
  }
});

Deno.test("serve without TLS flags starts but warns loudly that it is insecure", async () => {
  await using work = await tempDir();
  const node = await serve(work.path, [], []);
  try {
    await node.waitFor("auth  NONE: plaintext");
    await node.waitFor("INSECURE: serving plaintext without authentication");
    // Plaintext really is served: an unauthenticated client may write.
    const anonymous = new LogClient(`localhost:${node.rpcPort}`);
    try {
      assertEquals(await anonymous.produce(new Uint8Array([1])), 0);
    } finally {
      anonymous.close();
    }
  } finally {
    assertEquals(await node.stop(), 0);
  }
});

Deno.test("serve refuses to start with a certificate whose key does not match", async () => {
  await using work = await tempDir();
  const files = await makeCertificates(`${work.path}/certs`, ["root"]);
  const error = await serve(work.path, [files.nodeCertFile, files.client("root").keyFile], [
    ...["--server-tls-cert-file", files.nodeCertFile],
    ...["--server-tls-key-file", files.client("root").keyFile],
  ]).then(() => "started", (error: Error) => error.message);
  assert(error.includes("the key file holds the key of another certificate"), error);
});

Deno.test("produce and consume commands speak mutual TLS with --tls-* flags", async () => {
  await using work = await tempDir();
  const dataDir = `${work.path}/data`;
  await Deno.mkdir(dataDir);
  const files = await makeCertificates(`${work.path}/certs`, ["root"]);
  const node = await serve(dataDir, [files.nodeCertFile, files.nodeKeyFile, files.caFile], [
    ...["--server-tls-cert-file", files.nodeCertFile, "--server-tls-key-file", files.nodeKeyFile],
    ...["--server-tls-ca-file", files.caFile],
  ]);
  try {
    const tls = [
      ...["--addr", `127.0.0.1:${node.rpcPort}`, "--tls-ca-file", files.caFile],
      ...["--tls-cert-file", files.client("root").certFile],
      ...["--tls-key-file", files.client("root").keyFile],
    ];
    const produced = await runCli(["produce", ...tls, "first", "second"]);
    assertEquals([produced.code, produced.stdout], [0, "0\n1\n"], produced.stderr);
    const consumed = await runCli(["consume", ...tls]);
    assertEquals([consumed.code, consumed.stdout], [0, "first\nsecond\n"], consumed.stderr);
    // Without the client certificate the same command is refused.
    const anonymous = await runCli([
      "consume",
      ...["--addr", `127.0.0.1:${node.rpcPort}`, "--tls-ca-file", files.caFile],
    ]);
    assertEquals(anonymous.code, 1, anonymous.stderr);
    assert(anonymous.stderr.includes("the node requires a client certificate"), anonymous.stderr);
  } finally {
    assertEquals(await node.stop(), 0);
  }
});
