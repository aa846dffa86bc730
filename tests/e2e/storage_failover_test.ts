/**
 * Client failover when the leader's disk fails: three real nodes (shipped flags), the leader n1
 * started under a file size limit (`ulimit -f`, SIGXFSZ ignored: a write past it fails with
 * EFBIG as a full disk fails with ENOSPC). n1 stops (fail-stop); the `StrandClient`, given every
 * address, keeps producing on the new leader; each acknowledged record is in the log once, and
 * n1's `/readyz` says its storage failed.
 */
import { StrandClient } from "../../client/mod.ts";
import { assert, assertEquals, decoder, encoder } from "../server/_assert.ts";
import { TestCluster, until } from "./_cluster.ts";

const NAMES = ["n1", "n2", "n3"];
/** 400 blocks of 512 bytes: each of n1's files may grow to 200 KiB. */
const N1_FILE_BLOCKS_MAX = 400;
/** 4 KiB records: n1's log segment passes its limit after about 50 of them. */
const PAD = "x".repeat(4096);
/** Records the client must get acknowledged after n1 reported its failure. */
const AFTER_FAILURE = 10;

/** n1's readiness: its status and reason. */
async function readiness(url: string): Promise<{ status: string; reason?: string }> {
  return await fetch(`${url}/readyz`).then((reply) => reply.json());
}

Deno.test("storage failover: the leader's disk fails; the client carries on on the new leader and every acknowledged record is read back once", async () => {
  const cluster = await TestCluster.start(NAMES, {
    memberFileBlocksMax: { n1: N1_FILE_BLOCKS_MAX },
  });
  const addresses = NAMES.map((name) => cluster.get(name).node.rpcAddr).join(",");
  const client = new StrandClient(`strand://${addresses}`, {
    retry: { deadlineMs: 10_000 },
    refreshIntervalMs: 500,
  });
  try {
    // n1 bootstrapped the cluster: it leads (the others joined it).
    assertEquals(await cluster.leader(), "n1", "the test needs n1, the limited node, to lead");
    const n1 = cluster.get("n1").node;
    const acked = new Map<string, number>(); // value → offset
    let failedAt = -1;
    for (let i = 0; i < 400 && (failedAt < 0 || i < failedAt + AFTER_FAILURE); i++) {
      const value = `r${i}`;
      const { offset } = await client.produce(encoder.encode(`${value}|${PAD}`));
      acked.set(value, offset);
      if (failedAt < 0 && (await readiness(n1.httpUrl)).status !== "ready") failedAt = i + 1;
    }
    assert(failedAt > 0, "n1's storage never failed: raise PAD or lower the limit");
    assert(acked.size >= failedAt + AFTER_FAILURE, `acknowledged ${acked.size}`);

    const ready = await readiness(n1.httpUrl);
    assertEquals(ready.status, "not ready");
    assert(/storage failed/.test(ready.reason ?? ""), `n1's reason: ${ready.reason}`);
    const n2 = cluster.get("n2").client;
    const leader = (await n2.getServers()).find((server) => server.isLeader)?.id;
    assert(leader === "n2" || leader === "n3", `the new leader is ${leader}`);

    // Every acknowledged record once, at its offset, on both healthy nodes.
    for (const name of ["n2", "n3"]) {
      const member = cluster.get(name).client;
      const held = await until(`${name} to hold every acknowledged record`, async () => {
        const values = new Map<string, number[]>();
        for await (const record of member.consumeStream(0, { stopAtEnd: true })) {
          const value = decoder.decode(record.value).split("|")[0] as string;
          values.set(value, [...(values.get(value) ?? []), Number(record.offset)]);
        }
        return [...acked.keys()].every((value) => values.has(value)) ? values : null;
      }, 5_000);
      for (const [value, offset] of acked) {
        assertEquals(held.get(value), [offset], `${name}: ${value} held once, where acknowledged`);
      }
    }
  } finally {
    client.close();
    await cluster.close();
  }
});
