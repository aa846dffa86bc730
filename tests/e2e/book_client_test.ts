import { status } from "@grpc/grpc-js";
import { Buffer } from "node:buffer";
import { assert, assertEquals, eventually, rejection } from "../server/_assert.ts";
import { bookClient, unary } from "./_book_client.ts";
import { startNode, tempDir } from "./_node.ts";

type Record = { value: Buffer; offset: number };

Deno.test("e2e: the book's client produces, consumes, streams and lists servers", async () => {
  await using dir = await tempDir();
  const node = await startNode(dir.path);
  const client = bookClient(node.rpcAddr);
  try {
    const offsets = [];
    for (const text of ["first", "second", "third"]) {
      const reply = await unary<{ offset: number }>(client, "Produce", {
        record: { value: Buffer.from(text) },
      });
      offsets.push(reply.offset);
    }
    assertEquals(offsets, [0, 1, 2]);
    const got = await unary<{ record: Record }>(client, "Consume", { offset: 1 });
    assertEquals([got.record.value.toString(), got.record.offset], ["second", 1]);
    const past = await rejection(unary(client, "Consume", { offset: 3 }));
    assertEquals([past.code, past.details], [
      status.OUT_OF_RANGE,
      "Cannot read offset 3: the log holds offsets 0 to 2",
    ]);
    const servers = await unary<{ servers: { rpc_addr: string; is_leader: boolean }[] }>(
      client,
      "GetServers",
      {},
    );
    assertEquals(servers.servers.map((s) => [s.rpc_addr, s.is_leader]), [[node.rpcAddr, true]]);

    // ConsumeStream replays 0..2, then tails a record produced afterwards.
    const stream = client.ConsumeStream!({ offset: 0 });
    const seen: string[] = [];
    stream.on(
      "data",
      (response: { record: Record }) => seen.push(response.record.value.toString()),
    );
    stream.on("error", () => {});
    await eventually(() => seen.length === 3, "the replay");
    await unary(client, "Produce", { record: { value: Buffer.from("fourth") } });
    await eventually(() => seen.length === 4, "the tail");
    assertEquals(seen, ["first", "second", "third", "fourth"]);
    stream.cancel();

    // ProduceStream answers each request in order.
    const produce = client.ProduceStream!();
    const answers: number[] = [];
    produce.on("data", (response: { offset: number }) => answers.push(response.offset));
    const ended = new Promise((resolve) => produce.on("end", resolve));
    for (let i = 0; i < 20; i++) produce.write({ record: { value: Buffer.from(`s${i}`) } });
    produce.end();
    await ended;
    assertEquals(answers, Array.from({ length: 20 }, (_, i) => 4 + i));
  } finally {
    client.close();
    assertEquals(await node.stop(), 0);
  }
  assert(node.output().includes("strand: stopped"), node.output());
});
