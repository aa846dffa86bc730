/**
 * The status page of a real 3-node cluster (processes started with the shipped flags) in
 * headless Chromium: the members table names the leader the cluster agrees on, the plot draws
 * a nonzero produce rate while a client produces, and a browser's `GET /` does not change what
 * the book's JSON clients get. Skipped, saying why, when no Chromium is installed.
 */
import { assert, assertEquals } from "../server/_assert.ts";
import { rawRequest } from "../server/_raw_http.ts";
import { TestCluster } from "../e2e/_cluster.ts";
import { launch, open, readTable, skipReason, waitInPage } from "./_browser.ts";

const encoder = new TextEncoder();

Deno.test({
  name: "browser: a real 3-node cluster's page shows its leader and draws its produce rate",
  ignore: skipReason !== null,
  async fn() {
    const cluster = await TestCluster.start(["n1", "n2", "n3"]);
    const browser = await launch().catch(async (error) => {
      await cluster.close();
      throw error;
    });
    let producing = true;
    let produced = 0;
    try {
      const leader = (await cluster.leader())!;
      const { client, node } = cluster.get(leader);
      // A client keeps producing (bounded: at most 2000 batches) while the page is watched.
      const producer = (async () => {
        for (let i = 0; producing && i < 2000; i++) {
          await client.produceBatch([encoder.encode(`a${i}`), encoder.encode(`b${i}`)]);
          produced += 2;
          await new Promise((resolve) => setTimeout(resolve, 20)); // pacing, not synchronisation
        }
      })();
      const follower = [...cluster.members.keys()].find((name) => name !== leader)!;
      const url = `${cluster.get(follower).node.httpUrl}/ui?everyMs=250`;
      const { page, consoleErrors, violations, pageErrors, requests } = await open(browser, url);
      await waitInPage(
        page,
        `the leader ${leader} in the table`,
        `[...document.querySelectorAll("#nodes tr.leader td[data-col=name]")]
          .map((cell) => cell.textContent).join() === ${JSON.stringify(leader)}`,
        20_000,
      );
      const rows = await readTable(page);
      assertEquals(rows.map((row) => row.name).sort(), ["n1", "n2", "n3"]);
      for (const row of rows) assertEquals(row.reachable, "yes", JSON.stringify(row));
      await waitInPage(
        page,
        "a nonzero produce rate plotted",
        `Number(document.getElementById("now-produced").textContent) > 0 &&
          document.getElementById("produced").getAttribute("points").split(" ").length >= 2`,
        20_000,
      );
      const text = await page.evaluate(`document.getElementById("status").textContent`);
      assert(String(text).startsWith("Updated "), String(text));
      producing = false;
      await producer;
      assert(produced > 0, "the client produced");
      assertEquals(violations, []);
      assertEquals(pageErrors, []);
      assertEquals(consoleErrors, []);
      const paths = new Set(requests.map((at) => new URL(at).pathname));
      paths.delete("/favicon.ico");
      assertEquals([...paths].sort(), ["/ui", "/v1/cluster"]);

      // The book's JSON GET / on the same node still answers a record.
      const port = Number(new URL(node.httpUrl).port);
      const reply = await rawRequest(port, "GET", "/", {
        body: '{"offset": 0}',
        headers: { accept: "text/html, */*", "content-type": "application/json" },
      });
      assertEquals(reply.status, 200, reply.body);
      assertEquals(JSON.parse(reply.body).record.offset, 0);
    } finally {
      producing = false;
      await browser.close();
      await cluster.close();
    }
  },
});
