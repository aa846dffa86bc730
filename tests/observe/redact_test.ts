import { redactSecrets } from "../../observe/mod.ts";
import { assertEquals } from "./_assert.ts";

Deno.test("redactSecrets hides secret values but keeps paths and the shape", () => {
  const config = {
    dataDir: "/var/lib/strand",
    gossipKey: "c2VjcmV0LWtleQ==",
    tls: { certFile: "node.pem", keyFile: "node.key", keyPassphrase: "hunter2" },
    peers: [{ address: "n2:8400", token: "abc" }],
    password: "",
    apiKey: "k",
    key: "raw",
  };
  assertEquals(redactSecrets(config), {
    dataDir: "/var/lib/strand",
    gossipKey: "[redacted]",
    tls: { certFile: "node.pem", keyFile: "node.key", keyPassphrase: "[redacted]" },
    peers: [{ address: "n2:8400", token: "[redacted]" }],
    password: "",
    apiKey: "[redacted]",
    key: "[redacted]",
  });
  assertEquals(config.gossipKey, "c2VjcmV0LWtleQ==", "the input is not modified");
});

Deno.test("redactSecrets hides PEM private keys under any key and honours extra names", () => {
  const pem = "-----BEGIN EC PRIVATE KEY-----\nMHcCAQEE\n-----END EC PRIVATE KEY-----";
  const certificate = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----";
  assertEquals(
    redactSecrets({ inline: pem, cert: certificate, aclModel: "m" }, { secretKeys: ["aclModel"] }),
    {
      inline: "[redacted]",
      cert: certificate,
      aclModel: "[redacted]",
    },
  );
});
