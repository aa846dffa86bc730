import http from "node:http";
import {
  assert,
  assertEquals,
  certs,
  clientMaterial,
  makeCertificates,
  tempDir,
  withServer,
} from "./_helpers.ts";
import { callHttps, startHttpsServer } from "./_servers.ts";

Deno.test("https mTLS + ACL: root is allowed, nobody gets 403 naming subject and action", async () => {
  await using dir = await tempDir();
  const files = await makeCertificates(dir.path);
  await withServer(startHttpsServer, files, { mutual: true, acl: true }, async (port) => {
    const root = await clientMaterial(files, "root");
    assertEquals(await callHttps(port, "/produce", root), { status: 200, body: "root" });
    assertEquals(await callHttps(port, "/consume", root), { status: 200, body: "root" });
    const nobody = await clientMaterial(files, "nobody");
    assertEquals(await callHttps(port, "/produce", nobody), {
      status: 403,
      body: 'Cannot produce as "nobody": the ACL does not allow it',
    });
    assertEquals(await callHttps(port, "/consume", nobody), {
      status: 403,
      body: 'Cannot consume as "nobody": the ACL does not allow it',
    });
  });
});

Deno.test("https mTLS: no certificate, another CA's and an expired one are refused", async () => {
  await using dir = await tempDir();
  await using otherDir = await tempDir();
  const files = await makeCertificates(dir.path, []);
  const other = await makeCertificates(otherDir.path, ["root"]);
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
  const caPem = await Deno.readTextFile(files.caFile);
  const refused = {
    "no certificate": await clientMaterial(files),
    "another CA": { ...(await clientMaterial(other, "root")), caPem },
    "expired": await clientMaterial(files, "expired"),
  };
  await withServer(startHttpsServer, files, { mutual: true, acl: false }, async (port) => {
    for (const [name, client] of Object.entries(refused)) {
      const result = await callHttps(port, "/produce", client);
      assert(
        "error" in result,
        `${name}: expected a refused handshake, got ${JSON.stringify(result)}`,
      );
    }
  });
});

Deno.test("https: a plaintext HTTP request on the TLS port gets no response", async () => {
  await using dir = await tempDir();
  const files = await makeCertificates(dir.path, []);
  await withServer(startHttpsServer, files, { mutual: false, acl: false }, async (port) => {
    const result = await new Promise<string>((resolve) => {
      const request = http.request(
        { host: "127.0.0.1", port, path: "/produce", agent: false },
        (response) => {
          response.resume();
          resolve(`status ${response.statusCode}`);
        },
      );
      request.on("error", (error) => resolve(`error ${error.message}`));
      request.end();
    });
    assert(result.startsWith("error"), result);
    // The same port answers a TLS client, so the refusal above is the TLS requirement.
    const tls = await callHttps(port, "/produce", await clientMaterial(files));
    assert("status" in tls, JSON.stringify(tls));
  });
});
