/**
 * The status page over plain HTTP: who gets it (browsers on `/` and anyone on `/ui`), who does
 * not (the book's JSON clients), and its headers (a CSP that allows exactly its inline code).
 */
import { createHash } from "node:crypto";
import { assert, assertEquals } from "../server/_assert.ts";
import { rawRequest } from "../server/_raw_http.ts";
import { startFixture } from "./_fixture.ts";

function inline(page: string, tag: string): string {
  const match = new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`).exec(page);
  assert(match !== null, `the page has no inline <${tag}>`);
  return match[1]!;
}

const hashOf = (text: string) => `'sha256-${createHash("sha256").update(text).digest("base64")}'`;

Deno.test("GET /ui: one small self-contained page whose CSP allows only its inline code", async () => {
  await using fixture = await startFixture();
  const response = await fetch(`${fixture.url}/ui`);
  const page = await response.text();
  assertEquals(response.status, 200);
  assertEquals(response.headers.get("content-type"), "text/html; charset=utf-8");
  assertEquals(response.headers.get("x-content-type-options"), "nosniff");
  assert(new TextEncoder().encode(page).length < 20 * 1024, `page is ${page.length} bytes`);
  const csp = response.headers.get("content-security-policy") ?? "";
  const directives = new Map(
    csp.split(";").map((d) => {
      const [name, ...values] = d.trim().split(/\s+/);
      return [name!, values.join(" ")];
    }),
  );
  assertEquals(directives.get("default-src"), "'none'");
  assertEquals(directives.get("script-src"), hashOf(inline(page, "script")));
  assertEquals(directives.get("style-src"), hashOf(inline(page, "style")));
  assertEquals(directives.get("connect-src"), "'self'");
  // Nothing loaded from elsewhere, and the page never asks for records.
  assert(!/(src|href)=["']?(https?:)?\/\//i.test(page), "the page loads something external");
  assert(!/@import|url\(/i.test(page), "the page's CSS loads something");
  assert(!page.includes("/v1/records"), "the page mentions the records API");
});

Deno.test("GET / serves the page to a browser (Accept: text/html, no body) only", async () => {
  await using fixture = await startFixture();
  const port = fixture.http.port;
  const browserAccept = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
  const asBrowser = await fetch(`${fixture.url}/`, { headers: { accept: browserAccept } });
  assertEquals(asBrowser.status, 200);
  assert((await asBrowser.text()).includes("<title>Strand cluster</title>"));
  // The book's client: GET / with a JSON body gets a record answer whatever it accepts.
  await fetch(`${fixture.url}/`, {
    method: "POST",
    body: JSON.stringify({ record: { value: "aGk=" } }),
  })
    .then((r) => r.body?.cancel());
  for (const accept of [undefined, "*/*", "application/json", browserAccept]) {
    const headers: Record<string, string> = { "content-type": "application/json" };
    if (accept !== undefined) headers.accept = accept;
    const reply = await rawRequest(port, "GET", "/", { body: '{"offset": 0}', headers });
    assertEquals(reply.status, 200, `accept ${accept}: ${reply.body}`);
    assertEquals(reply.headers["content-type"], "application/json");
    assertEquals(JSON.parse(reply.body), { record: { value: "aGk=", offset: 0 } });
  }
  // Without a body and without text/html: the JSON error as before, not the page.
  for (const accept of ["*/*", "application/json", "text/htmlx"]) {
    const reply = await rawRequest(port, "GET", "/", { headers: { accept } });
    assertEquals(reply.status, 400, `accept ${accept}`);
    assertEquals(reply.headers["content-type"], "application/json");
  }
  const post = await rawRequest(port, "POST", "/", { headers: { accept: "text/html" } });
  assertEquals(post.headers["content-type"], "application/json");
});
