/**
 * Headless Chromium for the page tests, driven by puppeteer-core. Finds a browser installed on
 * the machine (`STRAND_CHROMIUM`, else Debian's `chromium`); when there is none the tests say
 * why they are skipped instead of passing.
 */
import puppeteer, { type Browser, type Page } from "puppeteer-core";

const candidates = [
  Deno.env.get("STRAND_CHROMIUM") ?? "",
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome",
].filter((path) => path !== "");

function findBrowser(): string | null {
  for (const path of candidates) {
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch { /* not there */ }
  }
  return null;
}

/** The browser's path, or null. */
export const browserPath: string | null = findBrowser();

/** Why the browser tests are skipped, or null when they run. */
export const skipReason: string | null = browserPath === null
  ? `no Chromium found (looked at ${candidates.join(", ")}); install it with ` +
    "`apt-get install -y --no-install-recommends chromium` or set STRAND_CHROMIUM"
  : null;

if (skipReason !== null) console.log(`tests/ui: browser tests SKIPPED: ${skipReason}`);

/** What a page did: console errors, CSP violations, uncaught errors, requested URLs. */
export interface Watched {
  page: Page;
  consoleErrors: string[];
  violations: string[];
  pageErrors: string[];
  requests: string[];
}

/** Starts headless Chromium (sandbox off only as root, where Chromium refuses it). */
export async function launch(): Promise<Browser> {
  if (browserPath === null) throw new Error(skipReason!);
  return await puppeteer.launch({
    executablePath: browserPath,
    headless: true,
    args: Deno.uid() === 0 ? ["--no-sandbox"] : [],
    timeout: 30_000,
  });
}

/** Opens a page that records its console errors, CSP violations and requests, then loads `url`. */
export async function open(browser: Browser, url: string): Promise<Watched> {
  const page = await browser.newPage();
  await page.setViewport({ width: 1100, height: 700 });
  const watched: Watched = {
    page,
    consoleErrors: [],
    violations: [],
    pageErrors: [],
    requests: [],
  };
  page.on("console", (message) => {
    if (message.type() === "error") watched.consoleErrors.push(message.text());
  });
  page.on("pageerror", (error) => watched.pageErrors.push(String(error)));
  page.on("request", (request) => watched.requests.push(request.url()));
  await page.exposeFunction("__violation", (text: string) => watched.violations.push(text));
  // Page-side code is written as text: it runs in the browser, not under Deno's types.
  await page.evaluateOnNewDocument(`document.addEventListener("securitypolicyviolation",
    (event) => __violation(event.violatedDirective + " blocked " + event.blockedURI));`);
  await page.goto(url, { waitUntil: "load", timeout: 15_000 });
  return watched;
}

/** Waits (bounded) until the page-side expression `read` is truthy; returns its value. */
export async function waitInPage<T>(
  page: Page,
  what: string,
  read: string,
  timeoutMs = 15_000,
): Promise<T> {
  try {
    const handle = await page.waitForFunction(read, { timeout: timeoutMs, polling: 100 });
    return await handle.jsonValue() as T;
  } catch (error) {
    const status = await page.evaluate(`document.getElementById("status").textContent`)
      .catch(() => "?");
    throw new Error(`Timed out waiting for ${what} (page status: ${status}): ${error}`);
  }
}

/** The members table as rows of {column: text}. */
export function readTable(page: Page): Promise<Record<string, string>[]> {
  return page.evaluate(`[...document.querySelectorAll("#nodes tr")].map((row) => {
    const out = { class: row.className };
    for (const cell of row.querySelectorAll("td")) out[cell.dataset.col] = cell.textContent;
    return out;
  })`) as Promise<Record<string, string>[]>;
}
