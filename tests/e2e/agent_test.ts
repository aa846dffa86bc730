import { status } from "@grpc/grpc-js";
import { startAgent } from "../../agent/mod.ts";
import { LogClient } from "../../client/mod.ts";
import { ServingStatus } from "../../proto/mod.ts";
import { assertEquals, eventually, rejection } from "../server/_assert.ts";
import { tempDir } from "./_node.ts";

type AgentConfig = Parameters<typeof startAgent>[0];

/** An agent on loopback with ephemeral ports; `extra` overrides or adds settings. */
function startLocalAgent(dataDir: string, nodeName: string, extra: Partial<AgentConfig> = {}) {
  return startAgent({
    dataDir,
    nodeName,
    bindHost: "127.0.0.1",
    rpcPort: 0,
    httpPort: 0,
    ...extra,
  });
}

Deno.test("agent: serves the file log, then shuts down in reverse order", async () => {
  await using dir = await tempDir();
  const agent = await startLocalAgent(dir.path, "n1");
  const client = new LogClient(`127.0.0.1:${agent.rpcPort}`);
  try {
    assertEquals(await client.produce(new Uint8Array([1])), 0);
    assertEquals(await client.getServers(), [
      { id: "n1", rpcAddr: `127.0.0.1:${agent.rpcPort}`, isLeader: true },
    ]);
    const ready = await fetch(`http://127.0.0.1:${agent.httpPort}/readyz`);
    assertEquals(ready.status, 200);
    await ready.body?.cancel();
  } finally {
    client.close();
    await agent.shutdown();
  }
  assertEquals(agent.service.health.status, ServingStatus.NOT_SERVING);
  // The log was closed: the data dir is free for the next node.
  const again = await startLocalAgent(dir.path, "n1");
  await again.shutdown();
});

Deno.test("agent: a failing setup step unwinds the steps already done", async () => {
  await using dir = await tempDir();
  const first = await startLocalAgent(`${dir.path}/a`, "a");
  try {
    // Same RPC port: the gRPC step fails after the log step opened (and locked) b's data dir.
    const error = await rejection(
      startLocalAgent(`${dir.path}/b`, "b", { rpcPort: first.rpcPort }),
    );
    assertEquals(String(error.message).startsWith("Cannot listen on"), true);
    const retry = await startLocalAgent(`${dir.path}/b`, "b");
    await retry.shutdown(); // b's log was closed by the unwind, so it opens again
  } finally {
    await first.shutdown();
  }
});

Deno.test("agent: age retention runs on a timer while the log is idle", async () => {
  await using dir = await tempDir();
  let nowMs = 1_000_000;
  const agent = await startLocalAgent(dir.path, "n1", {
    log: { segmentBytesMax: 1024, retentionMs: 60_000, clock: () => nowMs },
    retentionCheckMs: 10,
  });
  const client = new LogClient(`127.0.0.1:${agent.rpcPort}`);
  try {
    for (let i = 0; i < 40; i++) await client.produce(new Uint8Array(100));
    assertEquals((await client.consume(0)).offset, 0, "young segments are kept");
    nowMs += 120_000; // every sealed segment is now older than the retention
    await eventually(async () => {
      const error = await rejection(client.consume(0)).catch(() => ({ code: 0 }));
      return error.code === status.OUT_OF_RANGE;
    }, "offset 0 to be deleted by retention");
  } finally {
    client.close();
    await agent.shutdown();
  }
});
