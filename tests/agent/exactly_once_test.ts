/**
 * Exactly-once produce through a whole node: gRPC Produce, ProduceStream and HTTP
 * `POST /v1/records` answer a retried batch with its original offsets and `duplicate`, refuse
 * sequences out of order with FAILED_PRECONDITION / 409, and a restarted node (standalone, or
 * a cluster member rebuilding from Raft's replay) still knows the batches it holds.
 */
import { status } from "@grpc/grpc-js";
import { type Agent, type AgentConfig, startAgent } from "../../agent/mod.ts";
import { LogClient } from "../../client/mod.ts";
import { Metrics } from "../../observe/mod.ts";
import { assert, assertEquals, encoder, eventually } from "../server/_assert.ts";
import { rawClient } from "../server/_harness.ts";
import { withTempDir } from "../log/_fixtures.ts";

type Answer = { offset: number; count: number; duplicate: boolean };

function config(dataDir: string, clustered: boolean): AgentConfig {
  return {
    dataDir,
    nodeName: "solo",
    bindHost: "127.0.0.1",
    rpcPort: 0,
    httpPort: 0,
    ...(clustered
      ? { cluster: { bootstrap: true, joinAddrs: [], gossipPort: 0, gossipKey: null } }
      : {}),
  };
}

async function withAgent(
  dataDir: string,
  clustered: boolean,
  run: (agent: Agent, raw: ReturnType<typeof rawClient>) => Promise<void>,
): Promise<void> {
  const agent = await startAgent(config(dataDir, clustered));
  const raw = rawClient(agent.rpcPort);
  try {
    if (clustered) await eventually(() => agent.cluster!.status().role === "leader", "leader");
    await run(agent, raw);
  } finally {
    raw.close();
    await agent.shutdown();
  }
}

function batch(producerId: string, sequence: number, ...values: string[]) {
  return {
    records: values.map((value) => ({ value: encoder.encode(value) })),
    producerId,
    sequence,
  };
}

async function produce(raw: ReturnType<typeof rawClient>, request: unknown): Promise<Answer> {
  const answer = await raw.call("produce", request) as Answer;
  return { offset: Number(answer.offset), count: answer.count, duplicate: answer.duplicate };
}

async function refusal(promise: Promise<unknown>): Promise<{ code: number; details: string }> {
  try {
    await promise;
  } catch (error) {
    return error as { code: number; details: string };
  }
  throw new Error("expected a refusal");
}

for (const clustered of [false, true]) {
  const kind = clustered ? "a one-voter cluster" : "a standalone node";

  Deno.test(`exactly-once on ${kind}: a retried batch is answered with its original offsets, also after a restart`, async () => {
    await withTempDir(async (dir) => {
      await withAgent(dir, clustered, async (_agent, raw) => {
        assertEquals(await produce(raw, batch("p", 1, "a", "b")), {
          offset: 0,
          count: 2,
          duplicate: false,
        });
        assertEquals(await produce(raw, { record: { value: encoder.encode("x") } }), {
          offset: 2,
          count: 1,
          duplicate: false,
        });
        assertEquals(await produce(raw, batch("p", 1, "a", "b")), {
          offset: 0,
          count: 2,
          duplicate: true,
        });
        const gap = await refusal(produce(raw, batch("p", 3, "c")));
        assertEquals(gap.code, status.FAILED_PRECONDITION);
        assert(gap.details.includes("send batches 2 to 2 first"), gap.details);
      });
      await withAgent(dir, clustered, async (agent, raw) => {
        assertEquals(await produce(raw, batch("p", 1, "a", "b")), {
          offset: 0,
          count: 2,
          duplicate: true,
        });
        assertEquals(await produce(raw, batch("p", 2, "c")), {
          offset: 3,
          count: 1,
          duplicate: false,
        });
        const client = new LogClient(`127.0.0.1:${agent.rpcPort}`);
        try {
          const values = [];
          for await (const record of client.consumeStream(0, { stopAtEnd: true })) {
            values.push(new TextDecoder().decode(record.value));
          }
          assertEquals(values, ["a", "b", "x", "c"]);
        } finally {
          client.close();
        }
      });
    });
  });
}

Deno.test("exactly-once over HTTP: POST /v1/records with producerId and sequence; 409 out of order", async () => {
  await withTempDir(async (dir) => {
    const agent = await startAgent(config(dir, false));
    const url = `http://127.0.0.1:${agent.httpPort}/v1/records`;
    const post = async (body: unknown) => {
      const response = await fetch(url, { method: "POST", body: JSON.stringify(body) });
      return { status: response.status, json: await response.json() };
    };
    const value = (text: string) => ({ value: btoa(text) });
    try {
      const body = { records: [value("a"), value("b")], producerId: "h", sequence: 1 };
      const first = await post(body);
      assertEquals([first.status, first.json.offset, first.json.duplicate], [200, 0, false]);
      const again = await post(body);
      assertEquals(
        [again.status, again.json.offset, again.json.count, again.json.duplicate],
        [200, 0, 2, true],
      );
      const single = await post({ ...value("c"), producerId: "h", sequence: 2 });
      assertEquals([single.json.offset, single.json.duplicate], [2, false]);
      const late = await post({ ...value("d"), producerId: "h", sequence: 9 });
      assertEquals(late.status, 409);
      assertEquals(late.json.error.code, "OUT_OF_SEQUENCE");
      assert(
        late.json.error.message.includes("send batches 3 to 8 first"),
        late.json.error.message,
      );
      const bad = await post({ ...value("e"), producerId: "h", sequence: -1 });
      assertEquals(bad.status, 400);
    } finally {
      await agent.shutdown();
    }
  });
});

Deno.test("exactly-once over ProduceStream: a batch naming a producer is appended alone and deduplicated", async () => {
  await withTempDir(async (dir) => {
    const agent = await startAgent(config(dir, false));
    const client = new LogClient(`127.0.0.1:${agent.rpcPort}`);
    const stream = client.produceStream();
    try {
      const answers = await Promise.all([
        stream.send([encoder.encode("a")]),
        stream.send([encoder.encode("b"), encoder.encode("c")], { producerId: "s", sequence: 1 }),
        stream.send([encoder.encode("b"), encoder.encode("c")], { producerId: "s", sequence: 1 }),
        stream.send([encoder.encode("d")]),
        stream.send([encoder.encode("e")], { producerId: "s", sequence: 2 }),
      ]);
      assertEquals(
        answers.map((answer) => [Number(answer.offset), answer.count, answer.duplicate ?? false]),
        [[0, 1, false], [1, 2, false], [1, 2, true], [3, 1, false], [4, 1, false]],
      );
      stream.end();
    } finally {
      client.close();
      await agent.shutdown();
    }
  });
});

Deno.test("exactly-once: the producer table's size and evictions are metrics (the bound is visible)", async () => {
  await withTempDir(async (dir) => {
    const metrics = new Metrics();
    const agent = await startAgent({
      ...config(dir, false),
      metrics,
      producers: { producersMax: 2 },
    });
    const raw = rawClient(agent.rpcPort);
    const gauge = async (name: string) => {
      const match = new RegExp(`^${name} (\\d+)$`, "m").exec(await metrics.exposition());
      return match === null ? null : Number(match[1]);
    };
    try {
      for (const id of ["a", "b", "c"]) await produce(raw, batch(id, 1, id));
      assertEquals([await gauge("strand_producers"), await gauge("strand_producers_evicted")], [
        2,
        1,
      ]);
      // "a" was forgotten: its retry is appended again (the documented limit of the bound).
      assertEquals((await produce(raw, batch("a", 1, "a"))).duplicate, false);
    } finally {
      raw.close();
      await agent.shutdown();
    }
  });
});
