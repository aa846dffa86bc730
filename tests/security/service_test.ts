/**
 * The security state plugged into the real service (server/ + client/), the way the node
 * wires it: ACL through the `authorize` hook, gRPC credentials, HTTPS options.
 */
import https from "node:https";
import * as grpc from "@grpc/grpc-js";
import { LogClient } from "../../client/mod.ts";
import { Service, startGrpcServer, startHttpServer } from "../../server/mod.ts";
import {
  httpsClientOptions,
  loadClientGrpcSecurity,
  loadClientTlsMaterial,
  SecurityState,
} from "../../security/mod.ts";
import {
  assert,
  assertEquals,
  BOOK_MODEL_FILE,
  BOOK_POLICY_FILE,
  codeOf,
  makeCertificates,
  rotateToOtherCa,
  tempDir,
  type TestCertificates,
} from "./_helpers.ts";
import { MemoryLog } from "./_memory_log.ts";

async function startNode(files: TestCertificates) {
  const security = await SecurityState.load({
    serverTls: { certFile: files.nodeCertFile, keyFile: files.nodeKeyFile, caFile: files.caFile },
    acl: { modelFile: BOOK_MODEL_FILE, policyFile: BOOK_POLICY_FILE },
  });
  const service = new Service({
    log: new MemoryLog(),
    authorize: (subject, action) => security.can(subject, action),
  });
  const rpc = await startGrpcServer(service, {
    host: "127.0.0.1",
    port: 0,
    credentials: security.grpcServerCredentials(),
  });
  const api = await startHttpServer(service, {
    host: "127.0.0.1",
    port: 0,
    tls: security.httpsServerOptions()!,
  });
  service.setServing();
  return {
    rpc,
    api,
    security,
    async stop() {
      service.beginShutdown();
      await Promise.all([rpc.close(0), api.close(0)]);
      await security.close();
    },
  };
}

async function clientFor(files: TestCertificates, subject: string, port: number) {
  const { certFile, keyFile } = files.client(subject);
  const security = await loadClientGrpcSecurity({
    "tls-ca-file": files.caFile,
    "tls-cert-file": certFile,
    "tls-key-file": keyFile,
  });
  return new LogClient(`localhost:${port}`, {
    credentials: security.credentials,
    channelOptions: security.channelOptions,
  });
}

Deno.test("service gRPC: root produces and consumes; nobody is denied both; health is open", async () => {
  await using dir = await tempDir();
  const files = await makeCertificates(dir.path);
  const node = await startNode(files);
  const root = await clientFor(files, "root", node.rpc.port);
  const nobody = await clientFor(files, "nobody", node.rpc.port);
  try {
    const value = new TextEncoder().encode("hello");
    assertEquals(await root.produce(value), 0);
    assertEquals(new TextDecoder().decode((await root.consume(0)).value), "hello");
    assertEquals(await codeOf(() => nobody.produce(value)), grpc.status.PERMISSION_DENIED);
    assertEquals(await codeOf(() => nobody.consume(0)), grpc.status.PERMISSION_DENIED);
    assertEquals(await codeOf(() => nobody.health()), "ok");
  } finally {
    root.close();
    nobody.close();
    await node.stop();
  }
});

Deno.test("service HTTPS: nobody gets 403 on produce, root gets 200, health needs no grant", async () => {
  await using dir = await tempDir();
  const files = await makeCertificates(dir.path);
  const node = await startNode(files);
  try {
    const request = async (subject: string, method: string, path: string, body?: string) => {
      const tls = httpsClientOptions(
        await loadClientTlsMaterial({ caFile: files.caFile, ...files.client(subject) }),
      );
      return await new Promise<number>((resolve, reject) => {
        const options = {
          ...tls,
          host: "localhost",
          port: node.api.port,
          method,
          path,
          agent: false,
        };
        const call = https.request(options, (response) => {
          response.resume();
          resolve(response.statusCode ?? 0);
        });
        call.on("error", reject);
        call.end(body);
      });
    };
    const record = JSON.stringify({ record: { value: btoa("hi") } });
    assertEquals(await request("nobody", "POST", "/", record), 403);
    assertEquals(await request("root", "POST", "/", record), 200);
    assertEquals(await request("nobody", "GET", "/healthz"), 200);
  } finally {
    await node.stop();
  }
});

Deno.test("service: without a client certificate the real gRPC port refuses the handshake", async () => {
  await using dir = await tempDir();
  const files = await makeCertificates(dir.path, []);
  const node = await startNode(files);
  const security = await loadClientGrpcSecurity({ "tls-ca-file": files.caFile });
  const anonymous = new LogClient(`localhost:${node.rpc.port}`, {
    credentials: security.credentials,
  });
  try {
    const code = await codeOf(() => anonymous.produce(new Uint8Array([1])));
    assert(code === grpc.status.UNAVAILABLE, `expected UNAVAILABLE, got ${code}`);
  } finally {
    anonymous.close();
    await node.stop();
  }
});

Deno.test("service HTTPS: a rotated certificate is served by the real server without restart", async () => {
  await using dir = await tempDir();
  await using otherDir = await tempDir();
  const files = await makeCertificates(dir.path, ["root"]);
  const node = await startNode(files);
  try {
    // The new node certificate comes from another CA; clients are told to trust only it.
    await rotateToOtherCa(dir.path, otherDir.path);
    const health = async (caFile: string) => {
      const tls = httpsClientOptions(
        await loadClientTlsMaterial({ caFile, ...files.client("root") }),
      );
      return await new Promise<string>((resolve) => {
        const options = {
          ...tls,
          host: "localhost",
          port: node.api.port,
          path: "/healthz",
          agent: false,
        };
        const call = https.request(options, (response) => {
          response.resume();
          resolve(`status ${response.statusCode}`);
        });
        call.on("error", () => resolve("refused"));
        call.end();
      });
    };
    assertEquals(await health(files.caFile), "status 200");
    assertEquals(await health(`${otherDir.path}/ca.pem`), "refused");
    assertEquals((await node.security.reload())[0], { part: "server-tls", status: "reloaded" });
    assertEquals(await health(`${otherDir.path}/ca.pem`), "status 200");
    assertEquals(await health(files.caFile), "refused");
  } finally {
    await node.stop();
  }
});
