/**
 * `strand health`, run with the shipped flags (deno.json's start task): the container
 * HEALTHCHECK of an image without a shell.
 */
import { assert, assertEquals } from "../server/_assert.ts";
import { HealthState, startOpsServer } from "../../server/mod.ts";
import { runShipped, startShipped, tempDir } from "./_shipped.ts";

Deno.test("health: ready and live from a node's ops listener, one line when it is gone", async () => {
  await using work = await tempDir();
  await Deno.mkdir(`${work.path}/data`);
  const node = await startShipped(work.path, [
    ...["--rpc-port", "0", "--http-port", "0", "--ops-addr", "127.0.0.1:0"],
  ]);
  const addr = node.opsUrl!.replace("http://", "");
  try {
    const ready = await runShipped(work.path, ["health", "--addr", addr]);
    assertEquals([ready.code, ready.stdout], [0, "ready\n"], ready.stderr);
    const live = await runShipped(work.path, ["health", "--addr", addr, "--live"]);
    assertEquals([live.code, live.stdout], [0, "live\n"], live.stderr);
  } finally {
    assertEquals(await node.stop(), 0, node.output());
  }
  const gone = await runShipped(work.path, ["health", "--addr", addr]);
  assertEquals(gone.code, 1);
  assertEquals(gone.stderr.trim().split("\n").length, 1, gone.stderr);
  assert(
    gone.stderr.startsWith(`strand health: Cannot reach http://${addr}/readyz: `),
    gone.stderr,
  );
});

Deno.test("health: a node that is not ready exits 1 with its reason", async () => {
  await using work = await tempDir();
  const ops = await startOpsServer({ host: "127.0.0.1", port: 0, health: new HealthState() });
  try {
    const result = await runShipped(work.path, ["health", "--addr", `127.0.0.1:${ops.port}`]);
    assertEquals(result.code, 1);
    assert(result.stderr.includes("answered 503"), result.stderr);
    assert(result.stderr.includes("starting or shutting down"), result.stderr);
    const bad = await runShipped(work.path, ["health", "--addr", "nowhere"]);
    assertEquals(bad.code, 2, bad.stderr);
  } finally {
    await ops.close();
  }
});
