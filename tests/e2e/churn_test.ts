// Connection churn against a `serve` child process: hundreds of channels that call, open
// streams, cancel them midway, close gracefully (GOAWAY after hundreds of calls: what aborts
// Deno 2.9.6's HTTP/2 server) or vanish abruptly. The server must keep serving throughout.
import { LogClient } from "../../client/mod.ts";
import { ServingStatus } from "../../proto/mod.ts";
import { assert, assertEquals } from "../server/_assert.ts";
import { startNode, tempDir } from "./_node.ts";

const encoder = new TextEncoder();
const deadlineMs = 90_000; // the whole test's time cap
/**
 * Every failed channel, with the step it failed at: none allowed. (Each LogClient has its own
 * connection: on a connection shared by many clients, Deno 2.8.3's HTTP/2 client resets calls
 * after others' cancels, which a Node client against the same server never shows.)
 */
const failures: string[] = [];

async function shortLived(addr: string, id: number, graceful: boolean): Promise<void> {
  const client = new LogClient(addr);
  let step = "unary";
  try {
    for (let n = 0; n < 10; n++) await client.produce(encoder.encode(`c${id}-${n}`));
    await client.consume(0);
    step = "produce stream";
    const stream = client.produceStream();
    await Promise.all(Array.from({ length: 5 }, (_, n) => stream.send([encoder.encode(`${n}`)])));
    step = "consume stream";
    let seen = 0;
    for await (const _ of client.consumeStream(0)) {
      if (++seen === 5) break; // cancel midway
    }
    // The cancels come last: Deno 2.8.3's HTTP/2 client has reset streams opened after a cancel
    // on the same connection (see client/mod.ts), and this test is about the server.
    if (graceful) stream.end();
    else stream.cancel();
  } catch (error) {
    failures.push(`channel ${id} failed at ${step}: ${error}`);
  } finally {
    client.close();
  }
}

async function longLived(addr: string, calls: number): Promise<void> {
  const client = new LogClient(addr);
  try {
    for (let n = 0; n < calls; n++) await client.produce(encoder.encode(`long-${n}`));
  } finally {
    client.close(); // graceful close after hundreds of calls on one connection
  }
}

async function inBatches(count: number, width: number, run: (i: number) => Promise<void>) {
  for (let start = 0; start < count; start += width) {
    const size = Math.min(width, count - start);
    await Promise.all(Array.from({ length: size }, (_, k) => run(start + k)));
  }
}

async function vanishers(addr: string, processes: number, channels: number): Promise<void> {
  const script = new URL("./_churn_client.ts", import.meta.url).pathname;
  await Promise.all(Array.from({ length: processes }, async () => {
    const child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", script, addr, String(channels)],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    const { code, stdout } = await child.output();
    assertEquals([code, new TextDecoder().decode(stdout).trim()], [0, "vanishing"]);
  }));
}

Deno.test("e2e: the server survives connection churn and keeps serving", async () => {
  await using dir = await tempDir();
  const node = await startNode(dir.path, ["--fsync", "never"]);
  const started = Date.now();
  const probe = new LogClient(node.rpcAddr);
  const alive = async (phase: string) => {
    assert(Date.now() - started < deadlineMs, `time cap passed at ${phase}`);
    assertEquals(await probe.health(), ServingStatus.SERVING, phase);
  };
  try {
    await probe.produce(encoder.encode("seed"));
    await inBatches(240, 24, (i) => shortLived(node.rpcAddr, i, i % 2 === 0));
    await alive("after 240 short-lived channels");
    await inBatches(6, 3, () => longLived(node.rpcAddr, 400));
    await alive("after graceful closes following 400 calls each");
    await vanishers(node.rpcAddr, 4, 15);
    await alive("after 60 channels vanished with open streams");
    await inBatches(60, 20, (i) => shortLived(node.rpcAddr, 1000 + i, i % 3 === 0));
    await alive("after a last round");
    assert((await probe.produce(encoder.encode("still here"))) > 2400, "appends kept going");
  } finally {
    probe.close();
  }
  assertEquals(await node.stop(), 0, "a clean shutdown after the churn");
  assertEquals(failures, [], "every churn channel did its work");
});
