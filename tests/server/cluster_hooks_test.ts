import { status } from "@grpc/grpc-js";
import { RaftError } from "../../raft/mod.ts";
import type { ClusterHooks } from "../../server/mod.ts";
import { assertEquals, decoder, encoder, rejection } from "./_assert.ts";
import { startHarness } from "./_harness.ts";

function hooks(overrides: Partial<ClusterHooks>): ClusterHooks {
  return {
    readBarrier: () => Promise.resolve(),
    leader: () => null,
    appendHere: () => Promise.reject(new RaftError("NOT_LEADER", "Cannot append: not the leader")),
    ...overrides,
  };
}

Deno.test("cluster: before answering OUT_OF_RANGE past the end, a node confirms the end with the leader", async () => {
  let barriers = 0;
  const appended: Promise<unknown>[] = [];
  await using h = await startHarness({
    cluster: hooks({
      // The leader had committed a record this replica had not applied yet: the barrier
      // waits until it has.
      readBarrier: async () => {
        barriers++;
        if (barriers === 1) appended.push(h.log.append([encoder.encode("late")]));
        await Promise.all(appended);
      },
    }),
  });
  const record = await h.client.consume(0);
  assertEquals(decoder.decode(record.value), "late");
  assertEquals(barriers, 1);
  // Inside the log no barrier is needed.
  await h.client.consume(0);
  assertEquals(barriers, 1);
  const http = await fetch(`${h.httpUrl}/v1/records/1`);
  assertEquals(http.status, 404);
  await http.body?.cancel();
  assertEquals(barriers, 2);
});

Deno.test("cluster: without a leader, reads past the end and writes are UNAVAILABLE naming the leader", async () => {
  await using h = await startHarness({
    cluster: hooks({
      readBarrier: () => Promise.reject(new RaftError("NO_LEADER", "Cannot confirm: no leader")),
      leader: () => ({ id: "n2", rpcAddr: "127.0.0.1:8410" }),
    }),
  });
  const failure = await rejection(h.client.consume(3));
  assertEquals(failure.code, status.UNAVAILABLE);
  const metadata = failure.metadata as { get(key: string): unknown[] };
  assertEquals(metadata.get("strand-leader-id"), ["n2"]);
  assertEquals(metadata.get("strand-leader-addr"), ["127.0.0.1:8410"]);
  const http = await fetch(`${h.httpUrl}/v1/records/3`);
  assertEquals(http.status, 503);
  assertEquals(http.headers.get("retry-after"), "1");
  assertEquals(http.headers.get("strand-leader-id"), "n2");
  assertEquals(http.headers.get("strand-leader-addr"), "127.0.0.1:8410");
  await http.body?.cancel();
});
