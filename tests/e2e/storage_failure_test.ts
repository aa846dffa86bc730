/**
 * A cluster member (shipped flags) whose disk refuses writes: the file size limit (`ulimit -f`,
 * with SIGXFSZ ignored) makes a log write fail with EFBIG as a full disk fails with ENOSPC. Raft
 * stops the node (fail-stop); clients must then be told so, with a status that sends them
 * elsewhere (UNAVAILABLE / 503 and what to do), not an INTERNAL error.
 */
import { status as GrpcStatus } from "@grpc/grpc-js";
import { LogClient } from "../../client/mod.ts";
import { assert, assertEquals, rejection } from "../server/_assert.ts";
import { servePermissions } from "./_node.ts";

const mainPath = new URL("../../main.ts", import.meta.url).pathname;

/** Posts one record; null when no answer came within `ms` (the request is left running). */
async function post(url: string, value: string, ms: number) {
  try {
    const reply = await fetch(`${url}/v1/records`, {
      method: "POST",
      body: JSON.stringify({ value }),
      signal: AbortSignal.timeout(ms),
    });
    return { status: reply.status, body: await reply.text() };
  } catch {
    return null;
  }
}

Deno.test("storage failure: a member whose disk fails answers writes UNAVAILABLE / 503 saying why", async () => {
  const dir = await Deno.makeTempDir({ prefix: "strand-diskfail-" });
  const deno = [Deno.execPath(), "run", ...servePermissions(dir), mainPath, "serve"]
    .concat(["--data-dir", dir, "--node-name", "n1", "--bootstrap", "--log-level", "error"])
    .concat(["--bind-addr", "127.0.0.1:0", "--rpc-port", "0", "--http-port", "0"])
    .map((word) => `'${word.replaceAll("'", "'\\''")}'`).join(" ");
  // 200 blocks of 512 bytes: a file may grow to 100 KiB.
  const script = `trap '' XFSZ; ulimit -f 200; exec ${deno}`;
  const child = new Deno.Command("sh", { args: ["-c", script], stdout: "piped", stderr: "null" })
    .spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let client: LogClient | null = null;
  try {
    let text = "";
    for (let i = 0; i < 100 && !/HTTP\s+\S+\n/.test(text); i++) {
      const { value, done } = await reader.read();
      if (done) break;
      text += value;
    }
    const url = /HTTP\s+(\S+)\n/.exec(text)?.[1];
    const rpc = /gRPC\s+(\S+)/.exec(text)?.[1];
    assert(url && rpc, `serve did not start: ${text}`);
    for (let i = 0; i < 200; i++) {
      const ready = await fetch(`${url}/readyz`).then((reply) => reply.json());
      if (ready.status === "ready") break;
      await new Promise((resolve) => setTimeout(resolve, 50)); // poll, bounded
    }
    const value = btoa("x".repeat(30_000));
    // Writes until one is refused: the one whose write failed ends at the failure as an
    // unknown outcome (504: it may be on disk), later ones are refused (503). A write not
    // answered in 3 s is left running and the next sent.
    let refused: { status: number; body: string } | null = null;
    for (let i = 0; i < 30 && refused === null; i++) {
      const reply = await post(url, value, 3_000);
      if (reply === null) continue;
      if (reply.status === 200) continue;
      const code = JSON.parse(reply.body).error?.code;
      assertEquals(reply.status, code === "UNKNOWN_OUTCOME" ? 504 : 503, reply.body);
      if (code === "STORAGE_FAILED") refused = reply;
    }
    assert(refused !== null, "no write was refused for the failed disk");
    const error = JSON.parse(refused.body).error as { code: string; message: string };
    assert(/storage failed \(.*File too large/.test(error.message), error.message);
    assert(/send requests to another node.*restart this one/.test(error.message), error.message);

    // Health follows: a failed leader names no leader, so the node reports not ready.
    let readiness = { status: "ready", reason: "" };
    for (let i = 0; i < 200 && readiness.status === "ready"; i++) {
      readiness = await fetch(`${url}/readyz`).then((reply) => reply.json());
      if (readiness.status === "ready") await new Promise((resolve) => setTimeout(resolve, 50)); // poll, bounded
    }
    assertEquals(readiness.status, "not ready");
    assert(/storage failed/.test(readiness.reason), readiness.reason);

    client = new LogClient(rpc);
    const failure = await rejection(client.produce(new TextEncoder().encode("x")));
    assertEquals(failure.code, GrpcStatus.UNAVAILABLE, String(failure.details));
    assert(/storage failed/.test(String(failure.details)), String(failure.details));
  } finally {
    client?.close();
    reader.releaseLock();
    child.kill("SIGTERM");
    await child.status;
    await child.stdout.cancel().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});
