/**
 * Under mutual TLS the status page is served as the data API is: a client without a
 * certificate from the cluster's CA gets nothing, one with a certificate gets the page.
 */
import https from "node:https";
import { httpsClientOptions } from "../../security/mod.ts";
import { assert, assertEquals } from "../server/_assert.ts";
import { clientMaterial, makeCertificates, tempDir } from "../security/_helpers.ts";
import { serve } from "../security/_serve.ts";

type Result = { status: number; type: string; body: string } | { error: string };

function getPage(port: number, options: https.RequestOptions): Promise<Result> {
  return new Promise((resolve) => {
    const request = https.request(
      { ...options, host: "localhost", port, path: "/ui", agent: false },
      (response) => {
        let body = "";
        response.setEncoding("utf8");
        response.on("data", (chunk: string) => body += chunk);
        response.on("end", () =>
          resolve({
            status: response.statusCode ?? 0,
            type: String(response.headers["content-type"]),
            body,
          }));
      },
    );
    request.on("error", (error) => resolve({ error: error.message }));
    request.end();
  });
}

Deno.test("mTLS node: /ui needs a client certificate, like the data API", async () => {
  await using work = await tempDir();
  const dataDir = `${work.path}/data`;
  await Deno.mkdir(dataDir);
  const files = await makeCertificates(`${work.path}/certs`);
  const node = await serve(dataDir, [files.nodeCertFile, files.nodeKeyFile, files.caFile], [
    ...["--server-tls-cert-file", files.nodeCertFile, "--server-tls-key-file", files.nodeKeyFile],
    ...["--server-tls-ca-file", files.caFile],
  ]);
  try {
    const anonymous = await getPage(node.httpPort, httpsClientOptions(await clientMaterial(files)));
    assert(
      "error" in anonymous,
      `served without a client certificate: ${JSON.stringify(anonymous)}`,
    );
    const root = await getPage(
      node.httpPort,
      httpsClientOptions(await clientMaterial(files, "root")),
    );
    assert(!("error" in root), JSON.stringify(root));
    assertEquals(root.status, 200);
    assertEquals(root.type, "text/html; charset=utf-8");
    assert(root.body.includes("<title>Strand cluster</title>"));
  } finally {
    await node.stop();
  }
});
