/**
 * Readiness follows the log: a log that refuses every write (a file log stops after a failed
 * write or fsync: disk full, I/O error) makes `/readyz` 503 with the reason and gRPC health
 * NOT_SERVING; client mistakes do not.
 */
import { ServingStatus } from "../../proto/mod.ts";
import { assertEquals, encoder, rejection } from "./_assert.ts";
import { startHarness } from "./_harness.ts";
import { MemoryLog } from "./_memory_log.ts";
import { rawRequest } from "./_raw_http.ts";

class LogError extends Error {
  constructor(readonly code: string, message: string) {
    super(message);
  }
}

/** A log that fails writes the way a fail-stopped file log does, while `failing`. */
class FailingLog extends MemoryLog {
  failing = false;
  override append(values: Uint8Array[]): Promise<{ baseOffset: number }> {
    if (!this.failing) return super.append(values);
    return Promise.reject(
      new LogError(
        "CLOSED",
        "Cannot write to the log: a write failed (No space left on device (os error 28))",
      ),
    );
  }
}

const readyz = async (port: number) => {
  const reply = await rawRequest(port, "GET", "/readyz");
  return [reply.status, JSON.parse(reply.body)];
};

Deno.test("readiness: a log that fails every write makes /readyz 503 and health NOT_SERVING", async () => {
  const log = new FailingLog(100);
  await using h = await startHarness({ log });
  assertEquals(await readyz(h.http.port), [200, { status: "ready" }]);
  log.failing = true;
  const failed = await rawRequest(h.http.port, "POST", "/v1/records", {
    body: JSON.stringify({ value: btoa("x") }),
  });
  assertEquals(failed.status, 503);
  assertEquals(await readyz(h.http.port), [503, {
    status: "not ready",
    reason:
      "The log refuses writes: Cannot write to the log: a write failed (No space left on device (os error 28))",
  }]);
  assertEquals(await h.client.health(), ServingStatus.NOT_SERVING);
  assertEquals(await h.client.health("log.v1.Log"), ServingStatus.NOT_SERVING);
  // Reads still work: the records written before the failure are served.
  assertEquals((await rawRequest(h.http.port, "GET", "/v1/records?from=0")).status, 200);
  log.failing = false; // a log that takes writes again (e.g. a cluster's) is ready again
  await h.client.produce(encoder.encode("ok"));
  assertEquals(await readyz(h.http.port), [200, { status: "ready" }]);
  assertEquals(await h.client.health(), ServingStatus.SERVING);
});

Deno.test("readiness: a failed write stays the reason when the node also stops serving", async () => {
  const log = new FailingLog();
  await using h = await startHarness({ log });
  log.failing = true;
  await rejection(h.client.produce(encoder.encode("x")));
  // A cluster member whose disk failed is also no longer ready as a member (it knows no leader).
  h.service.setReady(false);
  const [status, body] = await readyz(h.http.port);
  assertEquals([status, body.status], [503, "not ready"]);
  assertEquals(
    body.reason,
    "The log refuses writes: Cannot write to the log: a write failed (No space left on device (os error 28))",
  );
});

Deno.test("readiness: client mistakes and shutdown are not log failures", async () => {
  const log = new FailingLog(100);
  await using h = await startHarness({ log });
  const tooLarge = await rejection(h.client.produce(new Uint8Array(1000)));
  assertEquals(tooLarge.details !== undefined, true);
  const bad = await rawRequest(h.http.port, "POST", "/v1/records", { body: "{}" });
  assertEquals(bad.status, 400);
  assertEquals(await readyz(h.http.port), [200, { status: "ready" }]);
  h.service.beginShutdown();
  assertEquals(await readyz(h.http.port), [503, {
    status: "not ready",
    reason: "The node is starting or shutting down",
  }]);
});
