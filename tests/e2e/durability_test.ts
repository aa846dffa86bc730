import { LogClient } from "../../client/mod.ts";
import { assert, assertEquals } from "../server/_assert.ts";
import { startNode, tempDir } from "./_node.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

Deno.test("e2e: a restart on the same data dir keeps every record", async () => {
  await using dir = await tempDir();
  const first = await startNode(dir.path);
  const client = new LogClient(first.rpcAddr);
  try {
    await client.produceBatch(["a", "b", "c"].map((v) => encoder.encode(v)));
  } finally {
    client.close();
  }
  assertEquals(await first.stop("SIGINT"), 0);
  const second = await startNode(dir.path);
  const again = new LogClient(second.rpcAddr);
  try {
    assertEquals(decoder.decode((await again.consume(2)).value), "c");
    assertEquals(await again.produce(encoder.encode("d")), 3, "offsets continue");
  } finally {
    again.close();
    assertEquals(await second.stop(), 0);
  }
});

Deno.test("e2e: SIGKILL loses nothing that was acknowledged", async () => {
  await using dir = await tempDir();
  const node = await startNode(dir.path);
  const client = new LogClient(node.rpcAddr);
  const acknowledged = new Map<number, string>();
  let killed = false;
  try {
    // 8 concurrent producers; the node is killed while they are still writing.
    const producers = Array.from({ length: 8 }, async (_, worker) => {
      for (let i = 0; i < 10_000 && !killed; i++) {
        const value = `w${worker}-${i}`;
        try {
          acknowledged.set(await client.produce(encoder.encode(value)), value);
        } catch {
          return; // the node died under this request: not acknowledged
        }
      }
    });
    const killAfter = async () => {
      const deadline = Date.now() + 30_000;
      while (acknowledged.size < 300 && Date.now() < deadline) {
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      killed = true;
      await node.stop("SIGKILL");
    };
    await Promise.all([...producers, killAfter()]);
  } finally {
    client.close();
  }
  assert(acknowledged.size >= 300, `only ${acknowledged.size} acknowledged`);
  const restarted = await startNode(dir.path);
  const reader = new LogClient(restarted.rpcAddr);
  try {
    for (const [offset, value] of acknowledged) {
      assertEquals(decoder.decode((await reader.consume(offset)).value), value, `offset ${offset}`);
    }
  } finally {
    reader.close();
    assertEquals(await restarted.stop(), 0);
  }
});

Deno.test("e2e: a second node on a data dir in use fails with a clear message", async () => {
  await using dir = await tempDir();
  const node = await startNode(dir.path);
  try {
    const error = await startNode(dir.path).then(() => null, (e: Error) => e.message);
    assert(error !== null, "the second start must fail");
    assert(error.includes("exited with 1"), error);
    assert(error.includes("is in use by another process"), error);
  } finally {
    assertEquals(await node.stop(), 0);
  }
});
