import * as grpc from "@grpc/grpc-js";
import {
  clientTlsFilesFromFlags,
  loadClientGrpcSecurity,
  SecurityError,
  securityFilesFromFlags,
  SecurityState,
} from "../../security/mod.ts";
import { assertEquals, makeCertificates, tempDir } from "./_helpers.ts";
import { callGrpc, startGrpcServer } from "./_servers.ts";

function flagsErrorOf(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    if (error instanceof SecurityError && error.code === "FLAGS_INVALID") return error.message;
    throw error;
  }
  throw new Error("expected FLAGS_INVALID");
}

Deno.test("flags: serve flags become the files of each part", () => {
  assertEquals(securityFilesFromFlags({}), {});
  assertEquals(
    securityFilesFromFlags({
      "server-tls-cert-file": "n.pem",
      "server-tls-key-file": "n-key.pem",
      "server-tls-ca-file": "ca.pem",
      "peer-tls-cert-file": "p.pem",
      "peer-tls-key-file": "p-key.pem",
      "peer-tls-ca-file": "peer-ca.pem",
      "acl-model-file": "model.conf",
      "acl-policy-file": "policy.csv",
      "data-dir": "ignored",
    }),
    {
      serverTls: { certFile: "n.pem", keyFile: "n-key.pem", caFile: "ca.pem" },
      peerTls: { certFile: "p.pem", keyFile: "p-key.pem", caFile: "peer-ca.pem" },
      acl: { modelFile: "model.conf", policyFile: "policy.csv" },
    },
  );
  assertEquals(
    securityFilesFromFlags({ "server-tls-cert-file": "n.pem", "server-tls-key-file": "k.pem" }),
    { serverTls: { certFile: "n.pem", keyFile: "k.pem" } },
  );
});

Deno.test("flags: half configurations are refused, naming the missing flag", () => {
  const cases: [Record<string, string>, string][] = [
    [{ "server-tls-cert-file": "n.pem" }, "--server-tls-cert-file and --server-tls-key-file"],
    [{ "server-tls-ca-file": "ca.pem" }, "--server-tls-cert-file and --server-tls-key-file"],
    [{ "peer-tls-cert-file": "p.pem", "peer-tls-key-file": "k.pem" }, "--peer-tls-ca-file"],
    [{ "acl-policy-file": "policy.csv" }, "--acl-model-file and --acl-policy-file"],
    [{ "server-tls-cert-file": "", "server-tls-key-file": "k" }, "--server-tls-cert-file needs"],
  ];
  for (const [values, expected] of cases) {
    const message = flagsErrorOf(() => securityFilesFromFlags(values));
    assertEquals(message.includes(expected), true, message);
  }
  for (
    const values of [
      { "tls-cert-file": "c.pem" },
      { "tls-cert-file": "c.pem", "tls-key-file": "k.pem" },
      { "tls-server-name": "localhost" },
    ]
  ) flagsErrorOf(() => clientTlsFilesFromFlags(values));
  assertEquals(clientTlsFilesFromFlags({}), undefined);
  assertEquals(clientTlsFilesFromFlags({ "tls-ca-file": "ca.pem" }), { caFile: "ca.pem" });
});

Deno.test("flags: client flags dial a mutual-TLS server by IP with --tls-server-name", async () => {
  await using dir = await tempDir();
  const files = await makeCertificates(dir.path, ["root"]);
  const security = await SecurityState.load({
    serverTls: { certFile: files.nodeCertFile, keyFile: files.nodeKeyFile, caFile: files.caFile },
  });
  const server = await startGrpcServer(security);
  try {
    const client = await loadClientGrpcSecurity({
      "tls-ca-file": files.caFile,
      "tls-cert-file": files.client("root").certFile,
      "tls-key-file": files.client("root").keyFile,
      "tls-server-name": "localhost",
    });
    assertEquals(client.secure, true);
    const result = await callGrpc(server.port, "produce", client.credentials, {
      host: "127.0.0.1",
      channelOptions: client.channelOptions,
    });
    assertEquals(result, { subject: "root" });
    const plaintext = await loadClientGrpcSecurity({});
    assertEquals(plaintext.secure, false);
    const refused = await callGrpc(server.port, "produce", plaintext.credentials);
    assertEquals("code" in refused && refused.code, grpc.status.UNAVAILABLE);
  } finally {
    await server.stop();
    await security.close();
  }
});
