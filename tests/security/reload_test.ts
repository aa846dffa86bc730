import tls from "node:tls";
import * as grpc from "@grpc/grpc-js";
import { type ReloadOutcome, SecurityState } from "../../security/mod.ts";
import {
  assert,
  assertEquals,
  BOOK_MODEL_FILE,
  certs,
  makeCertificates,
  nextReload,
  recordingLogger,
  rotateToOtherCa,
  tempDir,
} from "./_helpers.ts";
import {
  callGrpc,
  callHttps,
  startGrpcServer,
  startHttpsServer,
  tlsCredentials,
} from "./_servers.ts";

const isReloaded = (part: ReloadOutcome["part"]) => (outcome: ReloadOutcome) =>
  outcome.part === part && outcome.status === "reloaded";

Deno.test("reload: a rotated gRPC server certificate is served without restarting", async () => {
  await using dir = await tempDir();
  await using otherDir = await tempDir();
  const files = await makeCertificates(dir.path, []);
  const security = await SecurityState.load({
    serverTls: { certFile: files.nodeCertFile, keyFile: files.nodeKeyFile },
  }, { logger: recordingLogger() });
  const server = await startGrpcServer(security);
  try {
    security.watch({ signal: false, settleMs: 50 });
    const oldCa = tlsCredentials({ caPem: await Deno.readTextFile(files.caFile) });
    assertEquals(await callGrpc(server.port, "produce", oldCa), { subject: "" });

    const reloaded = nextReload(security, isReloaded("server-tls"));
    await rotateToOtherCa(dir.path, otherDir.path);
    await reloaded;

    const newCa = tlsCredentials({ caPem: await Deno.readTextFile(`${otherDir.path}/ca.pem`) });
    assertEquals(await callGrpc(server.port, "produce", newCa), { subject: "" });
    const old = await callGrpc(server.port, "produce", oldCa);
    assertEquals("code" in old && old.code, grpc.status.UNAVAILABLE, "old CA no longer matches");
  } finally {
    await server.stop();
    await security.close();
  }
});

Deno.test("reload: a rotated HTTPS certificate is served without restarting (SIGHUP)", async () => {
  await using dir = await tempDir();
  await using otherDir = await tempDir();
  const files = await makeCertificates(dir.path, []);
  const security = await SecurityState.load({
    serverTls: { certFile: files.nodeCertFile, keyFile: files.nodeKeyFile },
  }, { logger: recordingLogger() });
  const server = await startHttpsServer(security);
  try {
    security.watch({ files: false });
    const oldCa = { caPem: await Deno.readTextFile(files.caFile) };
    assertEquals(await callHttps(server.port, "/consume", oldCa), { status: 200, body: "" });
    await rotateToOtherCa(dir.path, otherDir.path);

    const reloaded = nextReload(security, isReloaded("server-tls"));
    Deno.kill(Deno.pid, "SIGHUP");
    await reloaded;

    const newCa = { caPem: await Deno.readTextFile(`${otherDir.path}/ca.pem`) };
    assertEquals(await callHttps(server.port, "/consume", newCa), { status: 200, body: "" });
    assert("error" in await callHttps(server.port, "/consume", oldCa), "old CA no longer matches");
  } finally {
    await server.stop();
    await security.close();
  }
});

Deno.test("reload: a changed policy applies on file change, to the running server", async () => {
  await using dir = await tempDir();
  const files = await makeCertificates(dir.path, ["nobody"]);
  const policyFile = `${dir.path}/policy.csv`;
  await Deno.writeTextFile(policyFile, "p, root, *, produce\n");
  const security = await SecurityState.load({
    serverTls: { certFile: files.nodeCertFile, keyFile: files.nodeKeyFile, caFile: files.caFile },
    acl: { modelFile: BOOK_MODEL_FILE, policyFile },
  }, { logger: recordingLogger() });
  const server = await startGrpcServer(security);
  try {
    security.watch({ signal: false, settleMs: 50 });
    const nobody = tlsCredentials({
      caPem: await Deno.readTextFile(files.caFile),
      certPem: await Deno.readTextFile(files.client("nobody").certFile),
      keyPem: await Deno.readTextFile(files.client("nobody").keyFile),
    });
    const before = await callGrpc(server.port, "produce", nobody);
    assertEquals("code" in before && before.code, grpc.status.PERMISSION_DENIED);

    const reloaded = nextReload(security, isReloaded("acl"));
    await Deno.writeTextFile(policyFile, "p, root, *, produce\np, nobody, *, produce\n");
    await reloaded;
    assertEquals(await callGrpc(server.port, "produce", nobody), { subject: "nobody" });
  } finally {
    await server.stop();
    await security.close();
  }
});

Deno.test("reload: a broken policy file is refused, logged, and the old policy stays", async () => {
  await using dir = await tempDir();
  const policyFile = `${dir.path}/policy.csv`;
  await Deno.writeTextFile(policyFile, "p, root, *, produce\n");
  const logger = recordingLogger();
  const security = await SecurityState.load(
    { acl: { modelFile: BOOK_MODEL_FILE, policyFile } },
    { logger },
  );
  try {
    await Deno.writeTextFile(policyFile, "p, nobody, *\n");
    const [outcome] = await security.reload();
    assertEquals(outcome?.status, "refused");
    assertEquals(outcome?.status === "refused" && outcome.error.code, "ACL_FILE_INVALID");
    const logged = logger.lines.find((line) => line.level === "error");
    assert(logged !== undefined && String(logged.fields?.error).includes("policy.csv line 1"));
    assert(security.can("root", "produce"), "the old policy is still in force");
    assert(!security.can("nobody", "produce"));

    await Deno.writeTextFile(policyFile, "p, nobody, *, produce\n");
    assertEquals((await security.reload())[0]?.status, "reloaded");
    assert(security.can("nobody", "produce"), "a fixed file is taken");
    assertEquals((await security.reload())[0]?.status, "unchanged");
  } finally {
    await security.close();
  }
});

Deno.test("reload: a certificate without its new key is refused and the old pair stays", async () => {
  await using dir = await tempDir();
  await using otherDir = await tempDir();
  const files = await makeCertificates(dir.path, []);
  const security = await SecurityState.load(
    { serverTls: { certFile: files.nodeCertFile, keyFile: files.nodeKeyFile } },
    { logger: recordingLogger() },
  );
  const server = await startGrpcServer(security);
  try {
    const before = security.serverTlsMaterial;
    await certs(["ca", "--dir", otherDir.path]);
    await certs(["node", "--dir", otherDir.path, "--name", "node-1", "--dns", "localhost"]);
    await Deno.copyFile(`${otherDir.path}/node-1.pem`, files.nodeCertFile);
    const [outcome] = await security.reload();
    assertEquals(outcome?.status === "refused" && outcome.error.code, "TLS_KEY_MISMATCH");
    assert(security.serverTlsMaterial === before, "the old material stays in force");
    const oldCa = tlsCredentials({ caPem: await Deno.readTextFile(files.caFile) });
    assertEquals(await callGrpc(server.port, "produce", oldCa), { subject: "" });
  } finally {
    await server.stop();
    await security.close();
  }
});

Deno.test("reload: rotated peer material is used by the peer listener and new dials", async () => {
  await using dir = await tempDir();
  await using otherDir = await tempDir();
  const files = await makeCertificates(dir.path, []);
  const security = await SecurityState.load({
    peerTls: { certFile: files.nodeCertFile, keyFile: files.nodeKeyFile, caFile: files.caFile },
  }, { logger: recordingLogger() });
  try {
    const peer = security.peerTls!;
    const oldCredentials = peer.serverCredentials._getSecureContextOptions();
    await rotateToOtherCa(dir.path, otherDir.path);
    await Deno.copyFile(`${otherDir.path}/ca.pem`, files.caFile);
    const outcomes = await security.reload();
    assertEquals(outcomes, [{ part: "peer-tls", status: "reloaded" }]);
    const newCaPem = await Deno.readTextFile(files.caFile);
    assertEquals(peer.connectOptions("localhost").ca, newCaPem);
    assertEquals(peer.serverCredentials._getSecureContextOptions()?.ca, newCaPem);
    assert(oldCredentials?.ca !== newCaPem, "the CA really changed");
  } finally {
    await security.close();
  }
});

Deno.test("reload: the file watch survives replacements and sees every later change", async () => {
  await using dir = await tempDir();
  const policyFile = `${dir.path}/policy.csv`;
  await Deno.writeTextFile(policyFile, "p, root, *, produce\n");
  const logger = recordingLogger();
  const security = await SecurityState.load({ acl: { modelFile: BOOK_MODEL_FILE, policyFile } }, {
    logger,
  });
  try {
    security.watch({ signal: false, settleMs: 20 });
    // Each change replaces the file by rename, as `strand certs` and most tools do, which
    // ends a watch on the old inode; three rounds prove the watch is re-armed each time.
    for (const subject of ["alice", "bob", "carol"]) {
      const reloaded = nextReload(security, isReloaded("acl"));
      const temporary = `${policyFile}.new`;
      await Deno.writeTextFile(temporary, `p, ${subject}, *, produce\n`);
      await Deno.rename(temporary, policyFile);
      await reloaded;
      assert(security.can(subject, "produce"), `${subject} allowed after the change`);
      assert(!security.can("root", "produce"), "root no longer allowed");
    }
    // A broken replacement through the watch is refused and logged; carol keeps her right.
    const refused = nextReload(security, (outcome) => outcome.status === "refused");
    await Deno.writeTextFile(policyFile, "p, mallory\n");
    await refused;
    assert(security.can("carol", "produce"));
    assert(logger.lines.some((line) => line.level === "error"), "the refusal is logged");
  } finally {
    await security.close();
  }
});

Deno.test("reload: an HTTPS client that sends no server name also gets the new certificate", async () => {
  // `serve` hands httpsServerOptions() to the HTTP server and keeps no reference to it:
  // reloads reach handshakes only through the options' SNICallback. Deno calls it also
  // when a client sends no server name (curl or Prometheus dialing an IP send none).
  await using dir = await tempDir();
  await using otherDir = await tempDir();
  const files = await makeCertificates(dir.path, []);
  const security = await SecurityState.load({
    serverTls: { certFile: files.nodeCertFile, keyFile: files.nodeKeyFile },
  }, { logger: recordingLogger() });
  const server = await startHttpsServer(security, { attach: false });
  // Dialing 127.0.0.1 without `servername` sends no SNI; the IP SAN is verified.
  const handshakeByIp = (caPem: string) =>
    new Promise<string>((resolve) => {
      const socket = tls.connect({ host: "127.0.0.1", port: server.port, ca: caPem }, () => {
        resolve("verified");
        socket.end();
      });
      socket.on("error", () => resolve("refused"));
    });
  try {
    const oldCa = await Deno.readTextFile(files.caFile);
    assertEquals(await handshakeByIp(oldCa), "verified");
    await rotateToOtherCa(dir.path, otherDir.path, { ip: true });
    assertEquals((await security.reload())[0]?.status, "reloaded");
    assertEquals(
      await handshakeByIp(await Deno.readTextFile(`${otherDir.path}/ca.pem`)),
      "verified",
    );
    assertEquals(await handshakeByIp(oldCa), "refused");
  } finally {
    await server.stop();
    await security.close();
  }
});
