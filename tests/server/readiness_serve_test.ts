/**
 * Readiness of a real `serve` (shipped flags) whose disk refuses writes: the file size limit
 * (`ulimit -f`, with SIGXFSZ ignored) makes a store write fail with EFBIG as a full disk fails
 * with ENOSPC; the log stops taking writes and `/readyz` must say so.
 */
import { servePermissions } from "../e2e/_node.ts";
import { assert, assertEquals } from "./_assert.ts";

const mainPath = new URL("../../main.ts", import.meta.url).pathname;

Deno.test("readiness: serve whose store cannot grow answers /readyz 503 with the cause", async () => {
  const dir = await Deno.makeTempDir({ prefix: "strand-readyz-" });
  const deno = [Deno.execPath(), "run", ...servePermissions(dir), mainPath, "serve"]
    .concat(["--data-dir", dir, "--rpc-port", "0", "--http-port", "0", "--log-level", "error"])
    .map((word) => `'${word.replaceAll("'", "'\\''")}'`).join(" ");
  // 200 blocks of 512 bytes: the store may grow to 100 KiB.
  const script = `trap '' XFSZ; ulimit -f 200; exec ${deno}`;
  const child = new Deno.Command("sh", { args: ["-c", script], stdout: "piped", stderr: "null" })
    .spawn();
  try {
    const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
    let text = "";
    for (let i = 0; i < 100 && !/HTTP\s+\S+\n/.test(text); i++) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    const url = /HTTP\s+(\S+)\n/.exec(text)?.[1];
    assert(url, `serve did not start: ${text}`);
    assertEquals((await fetch(`${url}/readyz`).then((r) => r.json())).status, "ready");
    const value = btoa("x".repeat(30_000));
    let failed = 0;
    for (let i = 0; i < 20 && failed === 0; i++) {
      const reply = await fetch(`${url}/v1/records`, {
        method: "POST",
        body: JSON.stringify({ value }),
      });
      await reply.body?.cancel();
      if (reply.status !== 200) failed = reply.status;
    }
    assert(failed >= 500, `a write must fail at the size limit (got ${failed})`);
    const ready = await fetch(`${url}/readyz`);
    const body = await ready.json();
    assertEquals([ready.status, body.status], [503, "not ready"]);
    assert(/File too large/.test(body.reason), body.reason);
    reader.releaseLock();
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await child.stdout.cancel().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});
