/**
 * The operations listener (`--ops-addr`): probes and /metrics without client certificates,
 * nothing else; with mutual TLS the data port keeps requiring certificates and no longer
 * serves /metrics. The node runs with the shipped flags (deno.json's start task).
 */
import { assert, assertEquals } from "../server/_assert.ts";
import { HealthState, startOpsServer } from "../../server/mod.ts";
import { ServingStatus } from "../../proto/mod.ts";
import { BOOK_MODEL_FILE, BOOK_POLICY_FILE, makeCertificates } from "../security/_helpers.ts";
import { startShipped, tempDir } from "./_shipped.ts";

async function status(url: string, init: RequestInit = {}): Promise<[number, string]> {
  const response = await fetch(url, init);
  return [response.status, await response.text()];
}

Deno.test("ops server: probes follow the health state, other paths and methods are refused", async () => {
  const health = new HealthState();
  const ops = await startOpsServer({
    host: "127.0.0.1",
    port: 0,
    health,
    routes: { "/metrics": (_q, response) => void response.end("m 1\n") },
  });
  try {
    const base = `http://127.0.0.1:${ops.port}`;
    assertEquals(await status(`${base}/healthz`), [200, '{"status":"ok"}']);
    const [starting, why] = await status(`${base}/readyz`);
    assertEquals([starting, JSON.parse(why).status], [503, "not ready"]);
    health.set(ServingStatus.SERVING);
    assertEquals(await status(`${base}/readyz`), [200, '{"status":"ready"}']);
    health.writeFailed("Cannot write: the disk is full");
    assertEquals(await status(`${base}/readyz`), [
      503,
      '{"status":"not ready","reason":"Cannot write: the disk is full"}',
    ]);
    health.writeSucceeded();
    assertEquals(await status(`${base}/metrics`), [200, "m 1\n"]);
    const [head] = await status(`${base}/healthz`, { method: "HEAD" });
    assertEquals(head, 200);
    for (const path of ["/", "/v1/records", "/v1/records/0", "/metrics/x", "/healthz/"]) {
      const [code, text] = await status(`${base}${path}`);
      assertEquals(code, 404, path);
      assert(text.includes("serves /healthz, /metrics, /readyz"), text);
    }
    const [post] = await status(`${base}/healthz`, { method: "POST", body: "{}" });
    assertEquals(post, 405);
    health.set(ServingStatus.NOT_SERVING);
    assertEquals((await status(`${base}/readyz`))[0], 503);
  } finally {
    await ops.close();
  }
});

Deno.test("ops listener: with mutual TLS, probes and metrics need no certificate, records do", async () => {
  await using work = await tempDir();
  const files = await makeCertificates(`${work.path}/certs`, ["root", "nobody"]);
  await Deno.copyFile(BOOK_MODEL_FILE, `${work.path}/certs/model.conf`);
  await Deno.copyFile(BOOK_POLICY_FILE, `${work.path}/certs/policy.csv`);
  await Deno.mkdir(`${work.path}/data`);
  const node = await startShipped(work.path, [
    ...["--rpc-port", "0", "--http-port", "0", "--ops-addr", "127.0.0.1:0"],
    ...["--server-tls-cert-file", "certs/node-1.pem", "--server-tls-key-file"],
    ...["certs/node-1-key.pem", "--server-tls-ca-file", "certs/ca.pem"],
    ...["--acl-model-file", "certs/model.conf", "--acl-policy-file", "certs/policy.csv"],
  ]);
  const ca = await Deno.readTextFile(files.caFile);
  const clientOf = async (subject: string) =>
    Deno.createHttpClient({
      caCerts: [ca],
      cert: await Deno.readTextFile(files.client(subject).certFile),
      key: await Deno.readTextFile(files.client(subject).keyFile),
    });
  const root = await clientOf("root");
  const nobody = await clientOf("nobody");
  const anonymous = Deno.createHttpClient({ caCerts: [ca] });
  try {
    assert(node.opsUrl?.startsWith("http://127.0.0.1:"), node.output());
    const data = node.httpUrl.replace("127.0.0.1", "localhost"); // Deno TLS: no IP names
    const produced = await fetch(`${data}/v1/records`, {
      method: "POST",
      body: JSON.stringify({ value: btoa("secret-record") }),
      client: root,
    });
    assertEquals(produced.status, 200);
    await produced.body?.cancel();

    assertEquals(await status(`${node.opsUrl}/healthz`), [200, '{"status":"ok"}']);
    assertEquals(await status(`${node.opsUrl}/readyz`), [200, '{"status":"ready"}']);
    const [metricsCode, metrics] = await status(`${node.opsUrl}/metrics`);
    assertEquals(metricsCode, 200);
    assert(metrics.includes("strand_records_total"), metrics.slice(0, 400));
    for (const path of ["/v1/records/0", "/v1/records?from=0", "/"]) {
      const [code, text] = await status(`${node.opsUrl}${path}`);
      assertEquals(code, 404, path);
      assert(!text.includes(btoa("secret-record")), text);
    }

    // The data port: no certificate, no connection; a known-to-the-CA subject the ACL does
    // not know still reaches no /metrics there (it moved to the ops listener).
    let refused = false;
    await fetch(`${data}/healthz`, { client: anonymous }).catch(() => refused = true);
    assert(refused, "the data port answered a client without a certificate");
    const scrape = await fetch(`${data}/metrics`, { client: nobody });
    assertEquals(scrape.status, 404);
    await scrape.body?.cancel();
    const record = await fetch(`${data}/v1/records/0`, { client: nobody });
    assertEquals(record.status, 403);
    await record.body?.cancel();
  } finally {
    root.close();
    nobody.close();
    anonymous.close();
    assertEquals(await node.stop(), 0, node.output());
  }
});

Deno.test("ops listener: TLS without --ops-addr says where /metrics went", async () => {
  await using work = await tempDir();
  await makeCertificates(`${work.path}/certs`, []);
  await Deno.mkdir(`${work.path}/data`);
  const node = await startShipped(work.path, [
    ...["--rpc-port", "0", "--http-port", "0", "--server-tls-cert-file", "certs/node-1.pem"],
    ...["--server-tls-key-file", "certs/node-1-key.pem"],
  ]);
  assertEquals(await node.stop(), 0, node.output());
  assert(node.output().includes("/metrics is not served: with TLS on"), node.output());
  assertEquals(node.opsUrl, undefined);
});
