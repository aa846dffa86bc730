/**
 * The cluster client's resolver and picker against in-process fake members: produces go to the
 * leader, consumes round-robin over the followers, the member list refreshes, and a leader
 * named in a failure's trailers is used at once.
 */
import { status } from "@grpc/grpc-js";
import { PRODUCER_ID_ON_WIRE, StrandClient, type StrandClientOptions } from "../../client/mod.ts";
import { assert, assertEquals, encoder, rejection } from "../server/_assert.ts";
import { until } from "../e2e/_cluster.ts";
import { FakeCluster } from "./_fake_cluster.ts";
import { deadAddress } from "../_ports.ts";

async function withCluster(
  names: string[],
  body: (cluster: FakeCluster) => Promise<void>,
): Promise<void> {
  const cluster = await FakeCluster.start(names);
  try {
    await body(cluster);
  } finally {
    cluster.close();
  }
}

function clientOf(target: string, options: StrandClientOptions = {}): StrandClient {
  return new StrandClient(target, { refreshIntervalMs: 60_000, ...options });
}

Deno.test("client picker: given one follower's address, produces go to the leader and consumes round-robin over the followers", async () => {
  await withCluster(["a", "b", "c"], async (cluster) => {
    const client = clientOf(cluster.get("b").addr);
    try {
      for (let i = 0; i < 4; i++) await client.produce(encoder.encode(`p${i}`));
      await client.produceBatch([encoder.encode("x"), encoder.encode("y")]);
      assertEquals(cluster.countBy("Produce"), { a: 5 });
      // Wait until both followers are connected, so the round-robin is over both.
      await client.waitForReady(5_000);
      await until(
        "both followers serve consumes",
        async () => {
          await client.consume(0);
          const counts = cluster.countBy("Consume");
          return counts.b !== undefined && counts.c !== undefined;
        },
        5_000,
        0,
      );
      const before = cluster.countBy("Consume");
      for (let i = 0; i < 6; i++) await client.consume(i);
      const after = cluster.countBy("Consume");
      assertEquals(after.a, undefined, "a consume went to the leader");
      assertEquals([after.b! - before.b!, after.c! - before.c!], [3, 3]);
      assertEquals(client.members.map((m) => [m.id, m.isLeader]), [
        ["a", true],
        ["b", false],
        ["c", false],
      ]);
    } finally {
      client.close();
    }
  });
});

Deno.test("client picker: with no follower reachable, consumes go to the leader", async () => {
  await withCluster(["a", "b", "c"], async (cluster) => {
    const client = clientOf(cluster.get("a").addr);
    try {
      await client.produce(encoder.encode("x"));
      cluster.stop("b");
      cluster.stop("c");
      const record = await client.consume(0);
      assertEquals(new TextDecoder().decode(record.value), "a");
    } finally {
      client.close();
    }
  });
});

Deno.test("client resolver: the periodic refresh follows a leader change", async () => {
  await withCluster(["a", "b", "c"], async (cluster) => {
    const client = clientOf(cluster.get("b").addr, { refreshIntervalMs: 100 });
    try {
      await client.produce(encoder.encode("x"));
      cluster.leader = "c";
      await until(
        "the client sees c lead",
        () => client.members.find((m) => m.isLeader)?.id === "c",
      );
      await client.produce(encoder.encode("y"));
      assertEquals(cluster.countBy("Produce"), { a: 1, c: 1 });
    } finally {
      client.close();
    }
  });
});

Deno.test("client resolver: a member that is down is skipped; the next listed one answers", async () => {
  await withCluster(["a", "b"], async (cluster) => {
    const deadAddr = await deadAddress();
    const client = clientOf(`strand://${deadAddr},${cluster.get("b").addr}`);
    try {
      await client.produce(encoder.encode("x"));
      assertEquals(cluster.countBy("Produce"), { a: 1 });
    } finally {
      client.close();
    }
  });
});

Deno.test("client balancer: a refusal naming the leader in its trailers sends the next produce there, before any refresh", async () => {
  await withCluster(["a", "b", "c"], async (cluster) => {
    const client = clientOf(cluster.get("b").addr);
    try {
      await client.produce(encoder.encode("first"));
      // a no longer leads and says c does; every member list stays stale (held back).
      let release = () => {};
      cluster.getServersGate = new Promise((resolve) => release = resolve);
      const a = cluster.get("a");
      a.produceMode = "not-leader";
      a.leaderAddr = cluster.get("c").addr;
      try {
        // Retried at once when the request carries a producer id; else the caller sees it.
        await client.produce(encoder.encode("second")).catch((error) => {
          assert(!PRODUCER_ID_ON_WIRE, String(error));
          assertEquals(error.code, status.UNAVAILABLE);
        });
        await client.produce(encoder.encode("third"));
      } finally {
        release();
      }
      assertEquals(cluster.countBy("Produce"), { a: 2, c: PRODUCER_ID_ON_WIRE ? 2 : 1 });
    } finally {
      client.close();
    }
  });
});

Deno.test({
  name:
    "client produce: an answer lost after the append is retried with the same sequence and appended once",
  ignore: !PRODUCER_ID_ON_WIRE,
  fn: async () => {
    await withCluster(["a", "b"], async (cluster) => {
      const client = clientOf(cluster.get("b").addr);
      try {
        await client.produce(encoder.encode("one"));
        cluster.get("a").produceMode = "lose-answer";
        const second = await client.produce(encoder.encode("two"));
        assertEquals([second.offset, second.duplicate, second.attempts], [1, true, 2]);
        await client.produce(encoder.encode("three"));
        const id = client.producerId;
        assertEquals(cluster.appended, [`${id}/1`, `${id}/2`, `${id}/3`]);
        const sequences = cluster.served.filter((s) => s.method === "Produce").map((s) =>
          s.sequence
        );
        assertEquals(sequences, [1, 2, 2, 3]);
      } finally {
        client.close();
      }
    });
  },
});

Deno.test({
  name:
    "client produce: after a batch whose outcome stayed unknown, the next one starts a new producer",
  ignore: !PRODUCER_ID_ON_WIRE,
  fn: async () => {
    await withCluster(["a"], async (cluster) => {
      const client = clientOf(cluster.get("a").addr, { retry: { deadlineMs: 300 } });
      try {
        await client.produce(encoder.encode("one"));
        const first = client.producerId;
        const a = cluster.get("a");
        a.produceMode = "not-leader";
        a.leaderAddr = a.addr;
        const failure = await rejection(client.produce(encoder.encode("two")));
        assert(failure.code === status.UNAVAILABLE || failure.code === status.DEADLINE_EXCEEDED);
        a.produceMode = "ok";
        await client.produce(encoder.encode("three"));
        assert(client.producerId !== first, "the producer id did not change");
        assertEquals(cluster.appended, [`${first}/1`, `${client.producerId}/1`]);
      } finally {
        client.close();
      }
    });
  },
});

Deno.test({
  name:
    "client produce: after a batch refused for its sequence (FAILED_PRECONDITION), the next one starts a new producer",
  ignore: !PRODUCER_ID_ON_WIRE,
  fn: async () => {
    await withCluster(["a"], async (cluster) => {
      const client = clientOf(cluster.get("a").addr);
      try {
        await client.produce(encoder.encode("one"));
        const first = client.producerId;
        cluster.get("a").produceMode = "refuse-sequence";
        const failure = await rejection(client.produce(encoder.encode("two")));
        assertEquals([failure.code, failure.attempts], [status.FAILED_PRECONDITION, 1]);
        await client.produce(encoder.encode("three"));
        assert(client.producerId !== first, "the producer id did not change");
        assertEquals(cluster.appended, [`${first}/1`, `${client.producerId}/1`]);
      } finally {
        client.close();
      }
    });
  },
});

Deno.test("client: nothing listening at the only address fails at once with UNAVAILABLE naming it", async () => {
  const deadAddr = await deadAddress();
  const client = clientOf(deadAddr);
  try {
    const failure = await rejection(client.produce(encoder.encode("x")));
    assertEquals(failure.code, status.UNAVAILABLE);
    assertEquals(failure.attempts, 1);
    assert(String(failure.details).includes(deadAddr), String(failure.details));
  } finally {
    client.close();
  }
});
