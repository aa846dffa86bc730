/**
 * The driver's stream (push/pull) side under hostile and hung peers: real deadlines, a
 * connection cap, a pre-authentication frame bound, and an accept loop that survives
 * EMFILE. Each test hangs or fails on a driver without the corresponding defence; every
 * wait is bounded by `within`.
 */

import {
  defaultConfig,
  encodePushPull,
  generateGossipKey,
  GossipNode,
  Keyring,
  parseGossipKey,
  pushPullBytesMax,
  type Tags,
} from "../../discovery/mod.ts";
import { assert, assertEquals, assertRejects, eventually } from "./_assert.ts";
import { startNode } from "./_process.ts";

/** Settles with `promise`, or rejects when `boundMs` passes first (a hang is a failure). */
async function within<T>(what: string, boundMs: number, promise: Promise<T>): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`${what}: not settled within ${boundMs} ms`)),
      boundMs,
    );
  });
  try {
    return await Promise.race([promise, late]);
  } finally {
    clearTimeout(timer);
  }
}

/** A TCP server that accepts and never answers; counts connections its peers closed. */
class SilentServer {
  readonly listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  readonly conns: Deno.Conn[] = [];
  closedByPeer = 0;
  readonly #loop: Promise<void>;

  constructor() {
    this.#loop = (async () => {
      for await (const conn of this.listener) {
        this.conns.push(conn);
        // Drain what the peer sends; never answer. EOF means the peer really closed.
        void (async () => {
          const buffer = new Uint8Array(64 * 1024);
          for (;;) {
            const count = await conn.read(buffer).catch(() => null);
            if (count === null) break;
          }
          this.closedByPeer++;
        })();
      }
    })();
  }

  get address(): string {
    return `127.0.0.1:${(this.listener.addr as Deno.NetAddr).port}`;
  }

  async close(): Promise<void> {
    this.listener.close();
    for (const conn of this.conns) {
      try {
        conn.close();
      } catch {
        // The peer's close already released it.
      }
    }
    await this.#loop;
  }
}

async function keyring(): Promise<Keyring> {
  return await Keyring.create(parseGossipKey(generateGossipKey()));
}

async function rawConnect(address: string): Promise<Deno.Conn> {
  const port = Number(address.slice(address.lastIndexOf(":") + 1));
  return await Deno.connect({ hostname: "127.0.0.1", port });
}

/** Resolves with null once the server closed `conn` (EOF), reading what arrives. */
async function readUntilClosed(conn: Deno.Conn): Promise<null> {
  const buffer = new Uint8Array(1024);
  for (;;) {
    const count = await conn.read(buffer).catch(() => null);
    if (count === null) return null;
  }
}

Deno.test("streams: a join to a server that never answers fails within its timeout and closes the socket", async () => {
  const silent = new SilentServer();
  const node = await GossipNode.start({
    name: "a",
    bindAddress: "127.0.0.1:0",
    keyring: await keyring(),
    pushPullTimeoutMs: 300,
  });
  try {
    await within(
      "join to a silent seed",
      5_000,
      assertRejects(() => node.join([silent.address]), "JOIN_FAILED"),
    );
    assertEquals(node.stats.pushPullsTimedOut, 1, "the exchange ended by its deadline");
    await eventually("the silent server sees the socket closed", () => silent.closedByPeer === 1, {
      timeoutMs: 5_000,
    });
  } finally {
    await node.close();
    await silent.close();
  }
});

Deno.test("streams: close() returns at once with push/pulls hung both ways", async () => {
  const silent = new SilentServer();
  const node = await GossipNode.start({
    name: "a",
    bindAddress: "127.0.0.1:0",
    keyring: await keyring(),
    pushPullTimeoutMs: 60_000,
  });
  const hungClients: Deno.Conn[] = [];
  try {
    // Outbound: joins towards a server that never answers.
    const joins = [1, 2, 3].map(() => node.join([silent.address]).catch((error) => error));
    // Inbound: clients that connect and never send.
    for (let i = 0; i < 3; i++) hungClients.push(await rawConnect(node.address));
    await eventually(
      "3 inbound and 3 outbound streams are up",
      () => node.streamConnections === 3 && silent.conns.length === 3,
      { timeoutMs: 5_000 },
    );
    await within("close() with hung exchanges", 3_000, node.close());
    const errors = await within("the hung joins settle", 3_000, Promise.all(joins));
    assert(errors.every((error) => error instanceof Error), "every hung join rejected");
  } finally {
    for (const conn of hungClients) conn.close();
    await node.close();
    await silent.close();
  }
});

Deno.test("streams: silent inbound connections are capped; the slots free once their descriptors do", async () => {
  const seed = await GossipNode.start({
    name: "seed",
    bindAddress: "127.0.0.1:0",
    keyring: await keyring(),
    pushPullTimeoutMs: 200,
    streamConnectionsMax: 2,
    warn: () => {},
  });
  const silent: Deno.Conn[] = [];
  try {
    for (let i = 0; i < 2; i++) silent.push(await rawConnect(seed.address));
    await eventually("two slots held", () => seed.streamConnections === 2, { timeoutMs: 5_000 });
    const extra = await rawConnect(seed.address);
    assertEquals(
      await within("the over-cap connection is closed", 5_000, readUntilClosed(extra)),
      null,
    );
    extra.close();
    assert(seed.stats.connectionsRefused >= 1, "the refusal is counted");
    await eventually("the silent streams time out", () => seed.stats.pushPullsTimedOut === 2, {
      timeoutMs: 5_000,
    });
    // Deno keeps a descriptor until the read pending on it returns: the slots are still
    // taken, and the cap still holds, until the silent peers go away.
    assertEquals(seed.streamConnections, 2);
    for (const conn of silent.splice(0)) conn.close();
    await eventually("the slots are free", () => seed.streamConnections === 0, {
      timeoutMs: 5_000,
    });
  } finally {
    for (const conn of silent) conn.close();
    await seed.close();
  }
});

Deno.test("streams: unauthenticated frames are bounded by membersMax and buffered as they arrive", async () => {
  const node = await GossipNode.start({
    name: "a",
    bindAddress: "127.0.0.1:0",
    keyring: await keyring(),
    pushPullTimeoutMs: 2_000,
    streamConnectionsMax: 200,
    warn: () => {},
  });
  const conns: Deno.Conn[] = [];
  try {
    const bound = pushPullBytesMax(defaultConfig);
    assert(bound < 2 * 1024 * 1024, `a push/pull of 1024 members fits in 2 MiB (${bound})`);
    // Over the bound: refused on the header, before any body byte is read.
    const over = await rawConnect(node.address);
    const header = new Uint8Array(4);
    new DataView(header.buffer).setUint32(0, bound + 1);
    await over.write(header);
    assertEquals(await within("an oversized frame is refused", 5_000, readUntilClosed(over)), null);
    over.close();
    assertEquals(node.stats.framesTooLarge, 1);
    // At the bound, 100 times, with no body: memory must not follow the declared lengths.
    const before = Deno.memoryUsage().external;
    new DataView(header.buffer).setUint32(0, bound);
    for (let i = 0; i < 100; i++) {
      const conn = await rawConnect(node.address);
      conns.push(conn);
      await conn.write(header);
    }
    await eventually("100 streams are open", () => node.streamConnections === 100, {
      timeoutMs: 5_000,
    });
    const grownBytes = Deno.memoryUsage().external - before;
    assert(
      grownBytes < 32 * 1024 * 1024,
      `100 declared frames of ${bound} bytes grew memory by ${grownBytes} bytes`,
    );
  } finally {
    for (const conn of conns) conn.close();
    await node.close();
  }
});

Deno.test("streams: the accept loop survives EMFILE and serves joins once descriptors are back", async () => {
  const key = generateGossipKey();
  const { node: victim, address } = await startNode(
    "victim",
    ["--bind-addr", "127.0.0.1:0", "--key", key],
    256,
  );
  let pending: Deno.Conn | undefined;
  const joiner = await GossipNode.start({
    name: "joiner",
    bindAddress: "127.0.0.1:0",
    keyring: await Keyring.create(parseGossipKey(key)),
    pushPullTimeoutMs: 2_000,
  });
  try {
    await victim.send({ cmd: "exhaust" });
    await victim.waitFor("descriptors exhausted", (fact) => fact.event === "exhausted");
    // The kernel completes this connection; the victim's accept() fails with EMFILE.
    pending = await rawConnect(address);
    let errors = 0;
    for (let attempt = 0; attempt < 100 && errors === 0; attempt++) {
      const seen = victim.facts.length;
      await victim.send({ cmd: "stats" });
      const stats = await victim.waitFor(
        "fresh stats",
        (fact) => fact.event === "stats" && victim.facts.indexOf(fact) >= seen,
      );
      errors = (stats.stats as { acceptErrors: number }).acceptErrors;
    }
    assert(errors >= 1, "the victim hit and counted an accept error");
    await victim.send({ cmd: "free" });
    await victim.waitFor("descriptors freed", (fact) => fact.event === "freed");
    assertEquals(await within("join after EMFILE", 10_000, joiner.join([address])), 1);
  } finally {
    pending?.close();
    await joiner.close();
    await victim.stop();
  }
});

Deno.test("streams: a join racing close() ends with it, not at its own deadline", async () => {
  const silent = new SilentServer();
  const node = await GossipNode.start({
    name: "a",
    bindAddress: "127.0.0.1:0",
    keyring: await keyring(),
    pushPullTimeoutMs: 60_000,
  });
  try {
    // close() runs while the join still seals its request, before its exchange exists.
    const joining = node.join([silent.address]).catch((error) => error);
    await node.close();
    const error = await within("the join racing close()", 3_000, joining);
    assert(error instanceof Error, "the join rejected");
  } finally {
    await node.close();
    await silent.close();
  }
});

Deno.test("streams: a peer that sends a request and never reads the reply is cut off at the deadline", async () => {
  const node = await GossipNode.start({
    name: "a",
    bindAddress: "127.0.0.1:0",
    keyring: null,
    // Time enough to read the 8 MB request on a loaded machine; the reply then blocks.
    pushPullTimeoutMs: 3_000,
    config: { tagsBytesMax: 33_000 },
    warn: () => {},
  });
  const conn = await rawConnect(node.address);
  try {
    // 260 members with 32 KB of tags each: the reply (about 8 MB) is more than loopback
    // socket buffers hold while the peer does not read, so the server's write blocks.
    const tags: Tags = Object.fromEntries(
      Array.from({ length: 64 }, (_, i) => [`k${i}`.padEnd(250, "k"), "v".repeat(250)]),
    );
    const states = Array.from({ length: 260 }, (_, i) => ({
      name: `fat-${i}`,
      address: "127.0.0.1:9",
      incarnation: 0,
      status: "alive" as const,
      tags,
    }));
    const body = encodePushPull({ join: false, states });
    // Plaintext gossip: a version byte of 0, then the payload, in one length-prefixed frame.
    const request = new Uint8Array(4 + 1 + body.length);
    new DataView(request.buffer).setUint32(0, 1 + body.length);
    request.set(body, 5);
    for (let written = 0; written < request.length;) {
      written += await conn.write(request.subarray(written));
    }
    const merged = () => node.members().length === 261;
    await eventually("the request was read and merged", merged, { timeoutMs: 5_000 });
    const timedOut = () => node.stats.pushPullsTimedOut === 1;
    await eventually("the blocked reply ends by the deadline", timedOut, { timeoutMs: 8_000 });
    assertEquals(node.stats.pushPullsServed, 0, "the reply never completed");
  } finally {
    conn.close();
    await node.close();
  }
});
