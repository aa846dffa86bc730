/** The real driver in one process: UDP + TCP on loopback, sealed with AES-GCM. */

import dgram from "node:dgram";
import {
  encodePacket,
  generateGossipKey,
  GossipNode,
  Keyring,
  type MembershipEvent,
  parseGossipKey,
} from "../../discovery/mod.ts";
import { assert, assertEquals, assertRejects, eventually } from "./_assert.ts";

async function startNode(
  name: string,
  keyring: Keyring,
  events: MembershipEvent[],
  extra: { eventQueueMax?: number; onEvent?: () => Promise<void> } = {},
): Promise<GossipNode> {
  return await GossipNode.start({
    name,
    bindAddress: "127.0.0.1:0",
    keyring,
    tags: { rpc: `${name}:8400` },
    ...(extra.eventQueueMax === undefined ? {} : { eventQueueMax: extra.eventQueueMax }),
    handler: {
      onEvent: async (event) => {
        events.push(event);
        await extra.onEvent?.();
      },
    },
  });
}

const seen = (events: MembershipEvent[], type: string, name: string) =>
  events.some((event) => event.type === type && event.member.name === name);

Deno.test("driver: nodes join, see tag updates and a graceful leave", async () => {
  const keyring = await Keyring.create(parseGossipKey(generateGossipKey()));
  const events = new Map<string, MembershipEvent[]>();
  const nodes: GossipNode[] = [];
  try {
    for (const name of ["a", "b", "c"]) {
      const list: MembershipEvent[] = [];
      events.set(name, list);
      nodes.push(await startNode(name, keyring, list));
    }
    const [a, b, c] = nodes as [GossipNode, GossipNode, GossipNode];
    assertEquals(await b.join([a.address]), 1);
    assertEquals(await c.join([a.address]), 1);
    await eventually(
      "everyone sees everyone",
      () => nodes.every((node) => node.members().filter((m) => m.status === "alive").length === 3),
    );
    c.setTags({ rpc: "c:9999" });
    await eventually(
      "a and b see c's new tags",
      () =>
        [a, b].every((node) =>
          node.members().find((m) => m.name === "c")?.tags["rpc"] === "c:9999"
        ),
    );
    assert(
      (events.get("a") ?? []).some((event) =>
        event.member.name === "c" && event.member.tags["rpc"] === "c:9999" &&
        (event.type === "update" || event.type === "join")
      ),
      "an event at a carries c's new tags",
    );
    await c.leave();
    await eventually(
      "a and b see c left",
      () => seen(events.get("a") ?? [], "leave", "c") && seen(events.get("b") ?? [], "leave", "c"),
    );
    assert(!seen(events.get("a") ?? [], "fail", "c"), "c was not reported failed");
    assert(a.stats.packetsReceived > 0 && a.stats.authFailures === 0, "clean traffic");
  } finally {
    await Promise.all(nodes.map((node) => node.close()));
  }
});

Deno.test("driver: keyring rotation lets old-key and new-key nodes talk; a stranger key cannot join", async () => {
  const oldKey = parseGossipKey(generateGossipKey());
  const newKey = parseGossipKey(generateGossipKey());
  const rotated = await Keyring.create(newKey, [oldKey]);
  const lagging = await Keyring.create(oldKey, [newKey]);
  const nodes: GossipNode[] = [];
  try {
    const a = await startNode("a", lagging, []);
    nodes.push(a);
    const b = await startNode("b", rotated, []);
    nodes.push(b);
    await b.join([a.address]);
    await eventually(
      "a and b see each other",
      () => [a, b].every((node) => node.members().length === 2),
    );
    const stranger = await startNode(
      "s",
      await Keyring.create(parseGossipKey(generateGossipKey())),
      [],
    );
    nodes.push(stranger);
    await assertRejects(() => stranger.join([a.address]), "JOIN_FAILED");
    assert(a.stats.authFailures >= 1, "a dropped and counted the stranger's stream");
    assert(!a.members().some((member) => member.name === "s"), "stranger not admitted");
  } finally {
    await Promise.all(nodes.map((node) => node.close()));
  }
});

Deno.test("driver: a blocked handler does not stall the protocol; overflow is counted", async () => {
  const keyring = await Keyring.create(parseGossipKey(generateGossipKey()));
  let release = () => {};
  const gate = new Promise<void>((resolve) => release = resolve);
  const nodes: GossipNode[] = [];
  try {
    const slow = await startNode("slow", keyring, [], { eventQueueMax: 1, onEvent: () => gate });
    nodes.push(slow);
    for (const name of ["p", "q", "r"]) {
      const node = await startNode(name, keyring, []);
      nodes.push(node);
      await node.join([slow.address]);
    }
    await eventually(
      "the slow node's view is complete",
      () => slow.members().filter((member) => member.status === "alive").length === 4,
    );
    assert(slow.stats.eventsDropped >= 1, "events beyond the queue bound are dropped and counted");
  } finally {
    release();
    await Promise.all(nodes.map((node) => node.close()));
  }
});

Deno.test("driver: UDP packets sealed under another key are dropped and counted", async () => {
  const key = parseGossipKey(generateGossipKey());
  const node = await startNode("a", await Keyring.create(key), []);
  const sender = dgram.createSocket("udp4");
  try {
    await new Promise<void>((resolve) => sender.bind(0, "127.0.0.1", () => resolve()));
    const [host, port] = [node.address.split(":")[0] as string, Number(node.address.split(":")[1])];
    const announce = (name: string) =>
      encodePacket([{ type: "alive", name, address: "127.0.0.1:1", incarnation: 0, tags: {} }]);
    const stranger = await Keyring.create(parseGossipKey(generateGossipKey()));
    sender.send(await stranger.seal(announce("intruder")), port, host);
    sender.send(new Uint8Array([1, 2, 3]), port, host);
    await eventually("both bad packets counted", () => node.stats.authFailures >= 2);
    const friend = await Keyring.create(key);
    sender.send(await friend.seal(announce("friend")), port, host);
    await eventually(
      "the well-sealed packet is accepted",
      () => node.members().some((member) => member.name === "friend"),
    );
    assert(!node.members().some((member) => member.name === "intruder"), "intruder not admitted");
  } finally {
    await new Promise<void>((resolve) => sender.close(() => resolve()));
    await node.close();
  }
});

Deno.test("driver: a key rotated at run time through node.keyring admits a node with only the new key", async () => {
  const oldKey = parseGossipKey(generateGossipKey());
  const newKey = parseGossipKey(generateGossipKey());
  const nodes: GossipNode[] = [];
  try {
    for (const name of ["a", "b"]) {
      nodes.push(await startNode(name, await Keyring.create(oldKey), []));
    }
    const [a, b] = nodes as [GossipNode, GossipNode];
    await b.join([a.address]);
    // Rotation: install everywhere, then use everywhere, then remove the old key.
    for (const node of nodes) await node.keyring?.install(newKey);
    for (const node of nodes) node.keyring?.use(newKey);
    for (const node of nodes) node.keyring?.remove(oldKey);
    const c = await startNode("c", await Keyring.create(newKey), []);
    nodes.push(c);
    assertEquals(await c.join([a.address]), 1);
    await eventually(
      "all three see each other",
      () => nodes.every((node) => node.members().filter((m) => m.status === "alive").length === 3),
    );
    const stale = await startNode("s", await Keyring.create(oldKey), []);
    nodes.push(stale);
    await assertRejects(() => stale.join([a.address]), "JOIN_FAILED");
  } finally {
    await Promise.all(nodes.map((node) => node.close()));
  }
});

Deno.test("driver: keyring null runs plaintext gossip, which a keyed node refuses", async () => {
  const nodes: GossipNode[] = [];
  try {
    const start = async (name: string, keyring: Keyring | null) => {
      const node = await GossipNode.start({ name, bindAddress: "127.0.0.1:0", keyring });
      nodes.push(node);
      return node;
    };
    const a = await start("a", null);
    const b = await start("b", null);
    assertEquals(await b.join([a.address]), 1);
    await eventually(
      "plaintext nodes see each other",
      () => [a, b].every((node) => node.members().filter((m) => m.status === "alive").length === 2),
    );
    assertEquals(a.keyring, null);
    const keyed = await start("k", await Keyring.create(parseGossipKey(generateGossipKey())));
    await assertRejects(() => keyed.join([a.address]), "JOIN_FAILED");
    assert(!a.members().some((member) => member.name === "k"), "keyed stream not admitted");
  } finally {
    await Promise.all(nodes.map((node) => node.close()));
  }
});

Deno.test("driver: a second process under a live name is refused with a named conflict; restarts rejoin", async () => {
  const keyring = await Keyring.create(parseGossipKey(generateGossipKey()));
  const nodes: GossipNode[] = [];
  const start = async (name: string, bindAddress = "127.0.0.1:0") => {
    const node = await GossipNode.start({ name, bindAddress, keyring, pushPullTimeoutMs: 2_000 });
    nodes.push(node);
    return node;
  };
  try {
    const seed = await start("seed");
    const x = await start("x");
    await x.join([seed.address]);
    const impostor = await start("x");
    let message = "";
    await assertRejects(async () => {
      try {
        await impostor.join([seed.address]);
      } catch (error) {
        message = String(error);
        throw error;
      }
    }, "NAME_CONFLICT");
    assert(message.includes(x.address) && message.includes(impostor.address), message);
    assertEquals(impostor.members().length, 1, "the refused node merged nothing");
    assertEquals(seed.members().find((m) => m.name === "x")?.address, x.address, "no flip");
    // Restart in place (same address), before anyone noticed the old process is gone.
    const address = x.address;
    await x.close();
    const restarted = await start("x", address);
    assertEquals(await restarted.join([seed.address]), 1);
    await eventually(
      "the restarted x is alive at its address",
      () =>
        seed.members().some((m) =>
          m.name === "x" && m.status === "alive" && m.address === address
        ) &&
        restarted.members().some((m) => m.name === "seed"),
    );
    // Restart at a new address once the old instance left: admitted under its name.
    await restarted.leave();
    await restarted.close();
    await eventually(
      "seed saw x leave",
      () => seed.members().some((m) => m.name === "x" && m.status === "left"),
    );
    const moved = await start("x");
    assertEquals(await moved.join([seed.address]), 1);
    await eventually(
      "x is alive at its new address",
      () =>
        seed.members().some((m) =>
          m.name === "x" && m.status === "alive" && m.address === moved.address
        ),
    );
  } finally {
    await Promise.all(nodes.map((node) => node.close()));
  }
});
