/**
 * Age retention (`--retention-ms`) in a cluster, with real processes: once their newest
 * record is older than the limit, every member removes its sealed segments on its own timer
 * (applied entries only), keeps serving what is younger, and names its new start.
 */
import { status as GrpcStatus } from "@grpc/grpc-js";
import { assert, assertEquals, decoder, encoder } from "../server/_assert.ts";
import { TestCluster, until } from "./_cluster.ts";
import { retainedStart } from "./_cluster_io.ts";

Deno.test("cluster retention by age: every member drops segments older than --retention-ms", async () => {
  const cluster = await TestCluster.start(["n1", "n2"], {
    // No byte limit: only age can remove anything (the log stays a few KiB).
    extraArgs: ["--segment-bytes-max", "1024", "--retention-ms", "1500"],
  });
  try {
    const leader = cluster.get((await cluster.leader())!);
    let end = 0;
    for (let batch = 0; batch < 10; batch++) {
      const values = [0, 1, 2, 3, 4].map((i) => encoder.encode(`old${batch}-${i}`.padEnd(100)));
      const { offset, count } = await leader.client.produceBatch(values);
      end = offset + count;
    }
    for (const member of cluster.live()) {
      const start = await until(`${member.name} dropping aged segments`, async () => {
        const start = await retainedStart(member);
        return start > 0 ? start : null;
      }, 10_000);
      assert(start < end, `${member.name} removed the active segment too (start ${start})`);
      const below = await member.client.consume(start - 1).catch((error) => error);
      assertEquals(below.code, GrpcStatus.OUT_OF_RANGE, `${member.name}: ${below}`);
    }
    // The cluster goes on: a new record is written and read on every member.
    const offset = await leader.client.produce(encoder.encode("young"));
    assertEquals(offset, end, "offsets keep their numbers");
    for (const member of cluster.live()) {
      const record = await until(
        `${member.name} serving ${offset}`,
        () => member.client.consume(offset),
      );
      assertEquals(decoder.decode(record.value), "young");
    }
  } finally {
    await cluster.close();
  }
});
