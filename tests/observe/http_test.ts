import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Metrics, metricsPath, metricsResponse, metricsRoutes } from "../../observe/mod.ts";
import { assert, assertEquals } from "./_assert.ts";
import { parseExposition, valueOf } from "./_exposition.ts";

Deno.test("GET /metrics over node:http serves the exposition; other methods get 405", async () => {
  const metrics = new Metrics({ defaultLabels: { node: "n1" } });
  metrics.consumed(4, 400);
  // Routes keyed "METHOD /path", as the server's router takes them; a known path with another
  // method goes to the GET handler here so the handler's own 405 is exercised.
  const routes = metricsRoutes(metrics);
  assertEquals(Object.keys(routes), ["GET /metrics", "HEAD /metrics"]);
  const server = createServer((request, response) => {
    if (request.url?.split("?")[0] === metricsPath) {
      void (routes[`${request.method} ${metricsPath}`] ?? routes["GET /metrics"]!)(
        request,
        response,
      );
      return;
    }
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  try {
    const url = `http://127.0.0.1:${port}${metricsPath}`;
    const got = await fetch(url);
    assertEquals(got.status, 200);
    assert(
      got.headers.get("content-type")?.startsWith("text/plain; version=0.0.4"),
      "content type",
    );
    const exposition = parseExposition(await got.text());
    assertEquals(
      valueOf(exposition, "strand_records_total", { direction: "consumed", node: "n1" }),
      4,
    );

    const head = await fetch(url, { method: "HEAD" });
    assertEquals([head.status, await head.text()], [200, ""]);

    const post = await fetch(url, { method: "POST", body: "x" });
    assertEquals(post.status, 405);
    assertEquals(post.headers.get("allow"), "GET, HEAD");
    assertEquals(await post.text(), "Cannot POST /metrics: only GET and HEAD are allowed\n");
  } finally {
    await new Promise<void>((resolve, reject) =>
      server.close((error) => (error ? reject(error) : resolve()))
    );
  }
});

Deno.test("metricsResponse answers a fetch-style request, and 500 when collection fails", async () => {
  const metrics = new Metrics();
  metrics.produced(2, 20);
  const ok = await metricsResponse(metrics, new Request("http://node/metrics"));
  assertEquals(ok.status, 200);
  assertEquals(
    valueOf(parseExposition(await ok.text()), "strand_records_total", { direction: "produced" }),
    2,
  );

  metrics.gauge({
    name: "strand_broken",
    help: "A collector that rejects.",
    collect: () => Promise.reject(new Error("disk gone")),
  });
  const failed = await metricsResponse(metrics, new Request("http://node/metrics"));
  assertEquals([failed.status, await failed.text()], [500, "Cannot collect metrics: disk gone\n"]);
});
