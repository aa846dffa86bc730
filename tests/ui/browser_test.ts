/**
 * The status page in headless Chromium: against a fixture of `/v1/cluster` with known values
 * (table cells, rates, hostile names, the unreachable state), with no console error and no CSP
 * violation. Skipped, saying why, when no Chromium is installed.
 */
import { assert, assertEquals } from "../server/_assert.ts";
import { launch, open, readTable, skipReason, waitInPage } from "./_browser.ts";
import { until } from "../e2e/_cluster.ts";
import { hostileName, startFixture } from "./_fixture.ts";

const browserTest = (name: string, fn: () => Promise<void>) =>
  Deno.test({ name, ignore: skipReason !== null, fn });

/** Console errors other than the failed loads a test caused on purpose. */
const unexpected = (errors: string[], allowed: RegExp | null) =>
  errors.filter((text) => allowed === null || !allowed.test(text));

browserTest("browser: the page shows members, leader, lag and rates from /v1/cluster", async () => {
  await using fixture = await startFixture();
  const browser = await launch();
  try {
    const { page, consoleErrors, violations, pageErrors, requests } = await open(
      browser,
      `${fixture.url}/ui?everyMs=250`,
    );
    await waitInPage(page, "three members", `document.querySelectorAll("#nodes tr").length === 3`);
    const rows = await readTable(page);
    assertEquals(rows.map((row) => row.name), ["n1", "n2", hostileName]);
    assertEquals(rows[0]!.class, "leader");
    assertEquals(rows[0]!.role, "leader");
    assertEquals(rows[1]!.lag, "3");
    assertEquals(rows[1]!.commit, "117");
    assertEquals(rows[1]!.applied, "116");
    assertEquals(rows[1]!.next, "97");
    assertEquals(rows[1]!.size, "3.0 MiB");
    assertEquals(rows[2]!.class, "down");
    assertEquals(rows[2]!.reachable, "no: connect ECONNREFUSED 127.0.0.1:1");
    assertEquals(rows[2]!.lag, "\u2013");
    const summary = await page.evaluate(
      `["leader", "term", "commit", "members"].map((id) => document.getElementById(id).textContent)`,
    );
    assertEquals(summary, ["n1 (127.0.0.1:9002)", "4", "120", "2 of 3 reachable"]);

    // Rates: 25 produced/s and 10 consumed/s (50 and 20 every 2 s) by the fixture's counters and clock.
    await waitInPage(
      page,
      "eight plotted points",
      `document.getElementById("produced")
      .getAttribute("points").split(" ").length >= 8`,
    );
    const rates = await page.evaluate(`["now-produced", "now-consumed"]
      .map((id) => document.getElementById(id).textContent)`);
    assertEquals(rates, ["25.0", "10.0"]);
    const heights = await page.evaluate(`["produced", "consumed"].map((id) => Number(document
      .getElementById(id).getAttribute("points").split(" ").at(-1).split(",")[1]))`) as number[];
    assert(heights[0]! < heights[1]!, `produce (25/s) is drawn above consume (10/s): ${heights}`);
    assertEquals(await page.evaluate(`document.getElementById("ymax").textContent`), "50 rec/s");
    // n2's restart (its counter back to zero) is no negative rate: nothing under the baseline.
    const lowest = await page.evaluate(`Math.max(...document.getElementById("consumed")
      .getAttribute("points").split(" ").map((p) => Number(p.split(",")[1])))`) as number;
    assert(lowest <= 160, `a consume point is drawn under the baseline: y = ${lowest}`);

    // The hostile name stayed text: no image element, no script run.
    assertEquals(await page.evaluate(`document.images.length`), 0);
    assertEquals(await page.title(), "Strand cluster");

    // The node stops answering: the page says so and keeps the last view dimmed, then recovers.
    fixture.failing = true;
    const down = await waitInPage<string>(
      page,
      "the unreachable state",
      `(() => {
      const s = document.getElementById("status");
      return s.className === "bad" && s.textContent; })()`,
    );
    assert(/^Unreachable since .*HTTP 503: fixture down/.test(down), down);
    assert(await page.evaluate(`document.getElementById("view").classList.contains("stale")`));
    fixture.failing = false;
    await waitInPage(page, "recovery", `document.getElementById("status").className === "ok"`);
    const updated = await page.evaluate(`document.getElementById("status").textContent`);
    assert(String(updated).startsWith("Updated "), String(updated));

    assertEquals(violations, []);
    assertEquals(pageErrors, []);
    assertEquals(unexpected(consoleErrors, /status of 503/), []);
    const paths = new Set(requests.map((url) => new URL(url).pathname));
    paths.delete("/favicon.ico"); // the browser's own request
    assertEquals([...paths].sort(), ["/ui", "/v1/cluster"]);
  } finally {
    await browser.close();
  }
});

browserTest(
  "browser: GET / from a browser is the page; the CSP blocks anything injected",
  async () => {
    await using fixture = await startFixture();
    const browser = await launch();
    try {
      const { page, consoleErrors, violations, requests } = await open(browser, `${fixture.url}/`);
      await waitInPage(
        page,
        "the leader",
        `document.getElementById("leader").textContent === ` +
          `"n1 (127.0.0.1:9002)"`,
      );
      assertEquals(consoleErrors, []);
      assertEquals(violations, []);
      // A script that got into the page some way would not run: the policy names only the page's.
      await page.evaluate(`{ const s = document.createElement("script");
      s.textContent = "document.title = 'injected'"; document.body.append(s); }`).catch(() => {});
      await until("a CSP violation report", () => violations.length > 0, 5_000, 20);
      assert(/^(script-src|require-trusted-types-for)/.test(violations[0]!), violations[0]);
      assertEquals(await page.title(), "Strand cluster");
      assertEquals(new URL(requests[0]!).pathname, "/");
    } finally {
      await browser.close();
    }
  },
);
