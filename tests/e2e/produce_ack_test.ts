/**
 * The produce answer says what was done: on how many replicas the records were fsynced, the
 * commit index, and whether the answer came after the fsync (`durable`) — over gRPC (unary and
 * ProduceStream) and HTTP, standalone and in a cluster, and false/0 under `--fsync never`.
 */
import {
  type Client,
  credentials,
  makeGenericClientConstructor,
  type ServiceError,
} from "@grpc/grpc-js";
import { startAgent } from "../../agent/mod.ts";
import { ackOf as raftAckOf } from "../../agent/_raft_log.ts";
import { logService, type ProduceResponse } from "../../proto/mod.ts";
import { assert, assertEquals, encoder } from "../server/_assert.ts";
import { TestCluster } from "./_cluster.ts";
import { tempDir } from "./_node.ts";

const LogStub = makeGenericClientConstructor(logService, "Log");
type Stub = Client & {
  produce(
    request: unknown,
    callback: (error: ServiceError | null, response?: ProduceResponse) => void,
  ): void;
  produceStream(): {
    write(request: unknown): void;
    end(): void;
    on(event: string, listener: (value: ProduceResponse) => void): void;
  };
};

function stubFor(address: string): Stub {
  return new LogStub(address, credentials.createInsecure()) as unknown as Stub;
}

function produce(stub: Stub, values: string[]): Promise<ProduceResponse> {
  const records = values.map((value) => ({ value: encoder.encode(value) }));
  return new Promise((resolve, reject) =>
    stub.produce({ records }, (error, response) => error ? reject(error) : resolve(response!))
  );
}

function produceStreamOnce(stub: Stub, value: string): Promise<ProduceResponse> {
  const call = stub.produceStream();
  const answer = new Promise<ProduceResponse>((resolve, reject) => {
    call.on("data", resolve);
    call.on("error", reject as (value: unknown) => void);
  });
  call.write({ record: { value: encoder.encode(value) } });
  call.end();
  return answer;
}

async function httpProduce(url: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(url, { method: "POST", body: JSON.stringify(body) });
  assertEquals(response.status, 200);
  return await response.json();
}

const ackOf = (r: ProduceResponse) => ({
  replicasFsynced: r.replicasFsynced,
  commitIndex: Number(r.commitIndex),
  duplicate: r.duplicate,
  durable: r.durable,
});

Deno.test("ack: a standalone node under fsync always reports 1 replica fsynced, durable", async () => {
  await using dir = await tempDir();
  const agent = await startAgent({
    dataDir: dir.path,
    nodeName: "n1",
    bindHost: "127.0.0.1",
    rpcPort: 0,
    httpPort: 0,
  });
  const stub = stubFor(`127.0.0.1:${agent.rpcPort}`);
  try {
    const durable = { replicasFsynced: 1, commitIndex: 0, duplicate: false, durable: true };
    const unary = await produce(stub, ["a", "b"]);
    assertEquals([Number(unary.offset), unary.count], [0, 2]);
    assertEquals(ackOf(unary), durable);
    assertEquals(ackOf(await produceStreamOnce(stub, "c")), durable);
    const base = `http://127.0.0.1:${agent.httpPort}`;
    assertEquals(await httpProduce(`${base}/v1/records`, { value: btoa("d") }), {
      offset: 3,
      count: 1,
      ...durable,
    });
    // The book's route answers exactly as the book's server does.
    assertEquals(await httpProduce(`${base}/`, { record: { value: btoa("e") } }), { offset: 4 });
  } finally {
    stub.close();
    await agent.shutdown();
  }
});

Deno.test("ack: under fsync never the answer says durable false and 0 replicas fsynced", async () => {
  await using dir = await tempDir();
  const agent = await startAgent({
    dataDir: dir.path,
    nodeName: "n1",
    bindHost: "127.0.0.1",
    rpcPort: 0,
    httpPort: 0,
    log: { fsync: { mode: "never" } },
  });
  const stub = stubFor(`127.0.0.1:${agent.rpcPort}`);
  try {
    const weak = { replicasFsynced: 0, commitIndex: 0, duplicate: false, durable: false };
    assertEquals(ackOf(await produce(stub, ["a"])), weak);
    const base = `http://127.0.0.1:${agent.httpPort}`;
    assertEquals(await httpProduce(`${base}/v1/records`, { value: btoa("b") }), {
      offset: 1,
      count: 1,
      ...weak,
    });
  } finally {
    stub.close();
    await agent.shutdown();
  }
});

Deno.test("ack: a cluster reports the quorum fsynced and the commit index, also when forwarded", async () => {
  const cluster = await TestCluster.start(["n1", "n2", "n3"]);
  const stubs: Stub[] = [];
  try {
    const leader = (await cluster.leader())!;
    const follower = cluster.live().find((member) => member.name !== leader)!;
    for (const member of [cluster.get(leader), follower]) {
      const stub = stubFor(member.node.rpcAddr);
      stubs.push(stub);
      const first = await produce(stub, ["x"]);
      assert(first.durable, `${member.name}: durable`);
      assert(!first.duplicate, `${member.name}: not a duplicate`);
      const fsynced = first.replicasFsynced ?? 0;
      assert(fsynced >= 2 && fsynced <= 3, `${member.name}: quorum`);
      const second = await produce(stub, ["y"]);
      assert(Number(second.commitIndex) > Number(first.commitIndex), "the commit index moves");
    }
    const answer = await httpProduce(`${follower.node.httpUrl}/v1/records`, {
      value: btoa("z"),
    });
    assertEquals([answer.durable, (answer.commitIndex as number) > 0], [true, true]);
    assert((answer.replicasFsynced as number) >= 2, "forwarded HTTP produce: quorum");
  } finally {
    for (const stub of stubs) stub.close();
    await cluster.close();
  }
});

Deno.test("ack: the leader counts the voters whose acknowledgement covers the entry", () => {
  const node = (durability: "fsync" | "none", matches: Record<string, number>) =>
    ({
      status: () => ({
        id: "a",
        commitIndex: 7,
        durability,
        membership: { voters: ["a", "b", "c", "d", "e"], learners: ["l"] },
      }),
      followers: () => Object.entries(matches).map(([id, match]) => ({ id, match })),
    }) as unknown as Parameters<typeof raftAckOf>[0];
  // b and c cover index 7, d is behind, the learner does not count: leader + 2 = 3 (the quorum).
  assertEquals(raftAckOf(node("fsync", { b: 7, c: 9, d: 6, l: 9 }), 7), {
    replicasFsynced: 3,
    commitIndex: 7,
    durable: true,
  });
  assertEquals(raftAckOf(node("fsync", { b: 7, c: 9, d: 8, e: 7 }), 7).replicasFsynced, 5);
  assertEquals(raftAckOf(node("none", { b: 7, c: 9, d: 8, e: 7 }), 7), {
    replicasFsynced: 0,
    commitIndex: 7,
    durable: false,
  });
});
