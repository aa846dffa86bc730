import * as grpc from "@grpc/grpc-js";
import { SecurityState } from "../../security/mod.ts";
import {
  assert,
  assertEquals,
  BOOK_MODEL_FILE,
  certs,
  clientMaterial,
  makeCertificates,
  tempDir,
  withServer,
} from "./_helpers.ts";
import { callGrpc, startGrpcServer, tlsCredentials } from "./_servers.ts";

Deno.test("grpc mTLS + ACL: root may produce and consume, and is seen as subject root", async () => {
  await using dir = await tempDir();
  const files = await makeCertificates(dir.path);
  const root = tlsCredentials(await clientMaterial(files, "root"));
  await withServer(startGrpcServer, files, { mutual: true, acl: true }, async (port) => {
    assertEquals(await callGrpc(port, "produce", root), { subject: "root" });
    assertEquals(await callGrpc(port, "consume", root), { subject: "root" });
  });
});

Deno.test("grpc mTLS + ACL: subject nobody is denied produce and consume", async () => {
  await using dir = await tempDir();
  const files = await makeCertificates(dir.path);
  const nobody = tlsCredentials(await clientMaterial(files, "nobody"));
  await withServer(startGrpcServer, files, { mutual: true, acl: true }, async (port) => {
    assertEquals(await callGrpc(port, "produce", nobody), {
      code: grpc.status.PERMISSION_DENIED,
      details: 'Cannot produce as "nobody": the ACL does not allow it',
    });
    assertEquals(await callGrpc(port, "consume", nobody), {
      code: grpc.status.PERMISSION_DENIED,
      details: 'Cannot consume as "nobody": the ACL does not allow it',
    });
  });
});

Deno.test("grpc mTLS: a client without a certificate is refused in the handshake", async () => {
  await using dir = await tempDir();
  const files = await makeCertificates(dir.path, []);
  const anonymous = tlsCredentials(await clientMaterial(files));
  await withServer(startGrpcServer, files, { mutual: true, acl: false }, async (port) => {
    const result = await callGrpc(port, "produce", anonymous);
    assertEquals("code" in result && result.code, grpc.status.UNAVAILABLE, JSON.stringify(result));
  });
});

Deno.test("grpc mTLS: a certificate from another CA is refused", async () => {
  await using dir = await tempDir();
  await using otherDir = await tempDir();
  const files = await makeCertificates(dir.path, []);
  const other = await makeCertificates(otherDir.path, ["root"]);
  // The stranger trusts our CA for the server, but its own certificate is from its CA.
  const stranger = {
    ...(await clientMaterial(other, "root")),
    caPem: await Deno.readTextFile(files.caFile),
  };
  await withServer(startGrpcServer, files, { mutual: true, acl: false }, async (port) => {
    const result = await callGrpc(port, "produce", tlsCredentials(stranger));
    assertEquals("code" in result && result.code, grpc.status.UNAVAILABLE, JSON.stringify(result));
  });
});

Deno.test("grpc mTLS: an expired client certificate from our CA is refused", async () => {
  await using dir = await tempDir();
  const files = await makeCertificates(dir.path, []);
  await certs([
    "client",
    "--dir",
    dir.path,
    "--subject",
    "root",
    "--name",
    "expired",
    "--not-before",
    "2020-01-01T00:00:00Z",
    "--not-after",
    "2020-02-01T00:00:00Z",
  ]);
  const expired = await clientMaterial(files, "expired");
  await withServer(startGrpcServer, files, { mutual: true, acl: false }, async (port) => {
    const result = await callGrpc(port, "produce", tlsCredentials(expired));
    assertEquals("code" in result && result.code, grpc.status.UNAVAILABLE, JSON.stringify(result));
  });
});

Deno.test("grpc TLS: a plaintext client on the TLS port gets no answer", async () => {
  await using dir = await tempDir();
  const files = await makeCertificates(dir.path, []);
  await withServer(startGrpcServer, files, { mutual: false, acl: false }, async (port) => {
    const result = await callGrpc(port, "produce", grpc.credentials.createInsecure());
    assertEquals("code" in result && result.code, grpc.status.UNAVAILABLE, JSON.stringify(result));
    // The same port answers a TLS client, so the refusal above is the TLS requirement.
    const tls = await callGrpc(port, "produce", tlsCredentials(await clientMaterial(files)));
    assertEquals(tls, { subject: "" });
  });
});

Deno.test("grpc: a consume-only policy lets root consume but not produce", async () => {
  await using dir = await tempDir();
  const files = await makeCertificates(dir.path, ["root"]);
  const policyFile = `${dir.path}/policy.csv`;
  await Deno.writeTextFile(policyFile, "p, root, *, consume\n");
  const security = await SecurityState.load({
    serverTls: { certFile: files.nodeCertFile, keyFile: files.nodeKeyFile, caFile: files.caFile },
    acl: { modelFile: BOOK_MODEL_FILE, policyFile },
  });
  const server = await startGrpcServer(security);
  try {
    const root = tlsCredentials(await clientMaterial(files, "root"));
    assertEquals(await callGrpc(server.port, "consume", root), { subject: "root" });
    const produce = await callGrpc(server.port, "produce", root);
    assertEquals("code" in produce && produce.code, grpc.status.PERMISSION_DENIED);
  } finally {
    await server.stop();
    await security.close();
  }
});

Deno.test("grpc TLS without client CA + ACL: every caller is anonymous and denied", async () => {
  await using dir = await tempDir();
  const files = await makeCertificates(dir.path, ["root"]);
  await withServer(startGrpcServer, files, { mutual: false, acl: true }, async (port) => {
    // Even with a certificate: the server did not ask for one, so nobody is authenticated.
    const result = await callGrpc(
      port,
      "produce",
      tlsCredentials(await clientMaterial(files, "root")),
    );
    assertEquals("code" in result && result.code, grpc.status.PERMISSION_DENIED);
    assert("details" in result && result.details.includes("anonymous"), JSON.stringify(result));
  });
});

Deno.test("insecure mode is explicit: plaintext credentials and a loud warning", async () => {
  const security = await SecurityState.load({});
  assert(!security.grpcServerCredentials()._isSecure(), "plaintext credentials");
  const warnings = security.insecureWarnings();
  assertEquals(warnings.length, 1);
  assert(warnings[0]!.startsWith("INSECURE: serving plaintext"), warnings[0]);
  // Without an ACL, the state allows everything: the warning is the only protection.
  security.authorize("", "produce");
  await security.close();
});
