/**
 * GetServers answers only subjects the ACL lets produce or consume: a certificate the CA signed
 * for something else learns nothing about the cluster. Proglog's policy file (root may both)
 * keeps working for its root client.
 */
import { status } from "@grpc/grpc-js";
import { LogClient } from "../../client/mod.ts";
import { loadClientGrpcSecurity, SecurityState } from "../../security/mod.ts";
import { Service, startGrpcServer } from "../../server/mod.ts";
import {
  BOOK_MODEL_FILE,
  BOOK_POLICY_FILE,
  makeCertificates,
  tempDir,
  type TestCertificates,
} from "../security/_helpers.ts";
import { assertEquals, rejection } from "./_assert.ts";
import { startHarness } from "./_harness.ts";
import { MemoryLog } from "./_memory_log.ts";

async function clientFor(files: TestCertificates, subject: string, port: number) {
  const security = await loadClientGrpcSecurity({
    "tls-ca-file": files.caFile,
    "tls-cert-file": files.client(subject).certFile,
    "tls-key-file": files.client(subject).keyFile,
  });
  return new LogClient(`localhost:${port}`, {
    credentials: security.credentials,
    channelOptions: security.channelOptions,
  });
}

Deno.test("GetServers with mutual TLS and proglog's ACL: root is answered, nobody is denied", async () => {
  await using dir = await tempDir();
  const files = await makeCertificates(dir.path);
  const security = await SecurityState.load({
    serverTls: { certFile: files.nodeCertFile, keyFile: files.nodeKeyFile, caFile: files.caFile },
    acl: { modelFile: BOOK_MODEL_FILE, policyFile: BOOK_POLICY_FILE },
  });
  const service = new Service({
    log: new MemoryLog(),
    authorize: (subject, action) => security.can(subject, action),
  }, { nodeId: "node-1" });
  const rpc = await startGrpcServer(service, {
    host: "127.0.0.1",
    port: 0,
    credentials: security.grpcServerCredentials(),
  });
  service.rpcAddr = `127.0.0.1:${rpc.port}`;
  service.setServing();
  const root = await clientFor(files, "root", rpc.port);
  const nobody = await clientFor(files, "nobody", rpc.port);
  try {
    assertEquals((await root.getServers()).map((server) => server.id), ["node-1"]);
    const denied = await rejection(nobody.getServers());
    assertEquals([denied.code, denied.details], [
      status.PERMISSION_DENIED,
      'Cannot list the servers: "nobody" may neither produce nor consume',
    ]);
  } finally {
    root.close();
    nobody.close();
    service.beginShutdown();
    await rpc.close(0);
    await security.close();
  }
});

for (
  const [name, allowed, answered] of [
    ["consume only", ["consume"], true],
    ["produce only", ["produce"], true],
    ["neither", [], false],
  ] as const
) {
  Deno.test(`GetServers for a subject that may ${name}: ${answered ? "answered" : "denied"}`, async () => {
    await using h = await startHarness({
      authorize: (_subject, action) => (allowed as readonly string[]).includes(action),
    });
    if (answered) {
      assertEquals((await h.client.getServers()).length, 1);
    } else {
      const denied = await rejection(h.client.getServers());
      assertEquals([denied.code, denied.details], [
        status.PERMISSION_DENIED,
        "Cannot list the servers: an anonymous client may neither produce nor consume",
      ]);
    }
  });
}
