import { runCerts } from "../../cli/certs.ts";
import { describeCertificate, loadTlsMaterial } from "../../security/mod.ts";
import { assert, assertEquals, certs, makeCertificates, quietly, tempDir } from "./_helpers.ts";
import { X509Certificate } from "node:crypto";
import * as x509 from "@peculiar/x509";

Deno.test("certs writes a CA, a node and a client certificate; keys are 0600", async () => {
  await using dir = await tempDir();
  const files = await makeCertificates(dir.path, ["root"]);
  for (
    const keyFile of [`${dir.path}/ca-key.pem`, files.nodeKeyFile, files.client("root").keyFile]
  ) {
    assertEquals((await Deno.stat(keyFile)).mode! & 0o777, 0o600, keyFile);
  }
  const ca = describeCertificate(await Deno.readTextFile(files.caFile));
  assertEquals(ca.commonName, "Strand CA");
  const client = describeCertificate(await Deno.readTextFile(files.client("root").certFile));
  assertEquals(client.commonName, "root");
  assertEquals(client.issuerCommonName, "Strand CA");
});

Deno.test("certs: a node certificate carries its DNS and IP SANs and both TLS usages", async () => {
  await using dir = await tempDir();
  await certs(["ca", "--dir", dir.path]);
  await certs([
    "node",
    "--dir",
    dir.path,
    "--name",
    "node-2",
    "--dns",
    "localhost",
    "--dns",
    "strand-2.internal",
    "--ip",
    "127.0.0.1",
    "--ip",
    "10.0.0.7",
  ]);
  const pem = await Deno.readTextFile(`${dir.path}/node-2.pem`);
  const parsed = new X509Certificate(pem);
  const sans = parsed.subjectAltName ?? "";
  for (
    const expected of [
      "DNS:localhost",
      "DNS:strand-2.internal",
      "IP Address:127.0.0.1",
      "IP Address:10.0.0.7",
    ]
  ) {
    assert(sans.includes(expected), `missing ${expected} in ${sans}`);
  }
  const usages = new x509.X509Certificate(pem).getExtension(x509.ExtendedKeyUsageExtension)?.usages;
  assertEquals(usages, [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]);
  assert(parsed.checkIssued(new X509Certificate(await Deno.readTextFile(`${dir.path}/ca.pem`))));
  // The node certificate loads as server material: its key matches and it is valid now.
  await loadTlsMaterial({
    certFile: `${dir.path}/node-2.pem`,
    keyFile: `${dir.path}/node-2-key.pem`,
  });
});

Deno.test("certs refuses to replace an existing CA unless --force", async () => {
  await using dir = await tempDir();
  await certs(["ca", "--dir", dir.path]);
  const before = await Deno.readTextFile(`${dir.path}/ca.pem`);
  assertEquals(await quietly(() => runCerts(["ca", "--dir", dir.path])), 1);
  assertEquals(await Deno.readTextFile(`${dir.path}/ca.pem`), before);
  await certs(["ca", "--dir", dir.path, "--force"]);
  assert(await Deno.readTextFile(`${dir.path}/ca.pem`) !== before, "--force replaced the CA");
});

Deno.test("certs rejects bad command lines with exit code 2", async () => {
  await using dir = await tempDir();
  const cases = [
    [],
    ["ca"],
    ["bogus", "--dir", dir.path],
    ["node", "--dir", dir.path],
    ["client", "--dir", dir.path, "--days", "-3", "--subject", "x"],
    ["ca", "--dir", dir.path, "--unknown-flag"],
  ];
  for (const args of cases) {
    assertEquals(await quietly(() => runCerts(args)), 2, args.join(" "));
  }
  // A node certificate without any SAN could never be verified by a client.
  await certs(["ca", "--dir", dir.path]);
  assertEquals(await quietly(() => runCerts(["node", "--dir", dir.path, "--name", "n"])), 1);
  assertEquals(
    await quietly(() => runCerts(["node", "--dir", dir.path, "--name", "n", "--ip", "300.1.1.1"])),
    1,
  );
});

Deno.test("certs --not-after in the past makes an expired certificate that loading refuses", async () => {
  await using dir = await tempDir();
  await certs(["ca", "--dir", dir.path]);
  await certs([
    "node",
    "--dir",
    dir.path,
    "--name",
    "old",
    "--dns",
    "localhost",
    "--not-before",
    "2020-01-01T00:00:00Z",
    "--not-after",
    "2020-02-01T00:00:00Z",
  ]);
  const summary = describeCertificate(await Deno.readTextFile(`${dir.path}/old.pem`));
  assertEquals(summary.notAfter.toISOString(), "2020-02-01T00:00:00.000Z");
  let refused = false;
  try {
    await loadTlsMaterial({ certFile: `${dir.path}/old.pem`, keyFile: `${dir.path}/old-key.pem` });
  } catch (error) {
    refused = String(error).includes("expired");
  }
  assert(refused, "an expired node certificate must not be loaded");
});

Deno.test("loading refuses a key that belongs to another certificate", async () => {
  await using dir = await tempDir();
  const files = await makeCertificates(dir.path, ["root"]);
  let code = "";
  try {
    await loadTlsMaterial({ certFile: files.nodeCertFile, keyFile: files.client("root").keyFile });
  } catch (error) {
    code = (error as { code?: string }).code ?? "";
  }
  assertEquals(code, "TLS_KEY_MISMATCH");
});
