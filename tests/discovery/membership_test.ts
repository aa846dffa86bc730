/** Unit tests of the pure SWIM core: one mechanism per test, driven by hand or in a small simulation. */

import {
  defaultConfig,
  encodePacket,
  Membership,
  type MemberState,
  type Message,
  sealOverheadBytes,
  suspicionTimeoutsMs,
} from "../../discovery/mod.ts";
import { MemberTable } from "../../discovery/_member_table.ts";
import { SeededRandom } from "../sim/random.ts";
import { SimCluster } from "../sim/swim/cluster.ts";
import { assert, assertEquals, assertThrows } from "./_assert.ts";

function core(name: string, seed = 1): Membership {
  return new Membership({ name, address: `${name}:1`, random: new SeededRandom(seed), nowMs: 0 });
}

function alive(name: string, incarnation = 0, tags = {}): MemberState {
  return { name, address: `${name}:1`, incarnation, status: "alive", tags };
}

function cluster(size: number, seed = 3): SimCluster {
  const sim = new SimCluster({ seed });
  for (let i = 0; i < size; i++) sim.addNode(`n${i}`);
  sim.bootstrap();
  return sim;
}

function packetsTo(node: Membership, to: string): Message[] {
  return node.takeReady().packets.filter((packet) => packet.to === to).flatMap((
    p,
  ) => [...p.messages]);
}

Deno.test("core: answered probes raise no suspicion", () => {
  const sim = cluster(4);
  sim.runUntil(60_000);
  for (const node of sim.running()) {
    assert(node.core.stats.probes > 50, `${node.name} probed`);
    assertEquals(node.core.stats.suspicionsStarted, 0, `${node.name} suspected nobody`);
  }
});

Deno.test("core: indirect probes through a third member prevent a false suspicion", () => {
  const sim = cluster(3);
  sim.partition(["n0"], ["n2"]);
  sim.runUntil(30_000);
  const n0 = sim.nodes.get("n0")?.core as Membership;
  assertEquals(n0.stats.probesFailed, 0, "n0's probes of n2 succeeded through n1");
  assert(!sim.events.some(({ event }) => event.type === "fail"), "nobody failed");
});

Deno.test("core: nacks keep a healthy prober's awareness low; an isolated one stretches its timeouts", () => {
  const healthy = cluster(5);
  healthy.crash("n4");
  healthy.runUntil(4_000);
  assertEquals(healthy.nodes.get("n0")?.core.awareness, 0, "helpers' nacks prove n0 is fine");
  const isolated = cluster(5);
  isolated.partition(["n0"], ["n1", "n2", "n3", "n4"]);
  isolated.runUntil(4_000);
  assert((isolated.nodes.get("n0")?.core.awareness ?? 0) > 0, "missing nacks raise n0's awareness");
});

Deno.test("core: a suspected member refutes with a higher incarnation", () => {
  const a = core("a");
  a.mergeRemoteState(0, [alive("b")]);
  a.takeReady();
  a.receive(1, "b:1", [{ type: "suspect", name: "a", incarnation: 0, from: "b" }]);
  assertEquals(a.stats.refutations, 1);
  assertEquals(a.members().find((member) => member.name === "a")?.incarnation, 1);
  a.tick(1_000);
  const sent = packetsTo(a, "b:1");
  assert(
    sent.some((message) =>
      message.type === "alive" && message.name === "a" && message.incarnation === 1
    ),
    "the refutation is gossiped",
  );
});

Deno.test("core: the suspicion timeout shrinks from max to min with an independent confirmation", () => {
  const members = Array.from({ length: 9 }, (_, i) => alive(`m${i}`));
  const { minMs, maxMs } = suspicionTimeoutsMs(defaultConfig, 10);
  const failAt = (confirm: boolean): number[] => {
    const a = core("a");
    a.mergeRemoteState(0, members);
    a.receive(0, "m1:1", [{ type: "suspect", name: "m0", incarnation: 0, from: "m1" }]);
    if (confirm) {
      a.receive(0, "m2:1", [{ type: "suspect", name: "m0", incarnation: 0, from: "m2" }]);
    }
    a.takeReady();
    const deadline = confirm ? minMs : maxMs;
    const failed: number[] = [];
    for (const nowMs of [deadline - 1, deadline]) {
      a.tick(nowMs);
      if (a.takeReady().events.some((event) => event.type === "fail")) failed.push(nowMs);
    }
    return failed;
  };
  assertEquals(failAt(false), [maxMs], "unconfirmed: declared at the max timeout");
  assertEquals(failAt(true), [minMs], "confirmed: declared at the min timeout");
  assert(minMs < maxMs, "min below max");
});

Deno.test("core: a stale suspicion is answered with the member's current alive state", () => {
  const a = core("a");
  a.mergeRemoteState(0, [alive("b", 3)]);
  a.takeReady();
  a.receive(1, "x:9", [{ type: "suspect", name: "b", incarnation: 1, from: "x" }]);
  const sent = packetsTo(a, "x:9");
  assert(
    sent.some((m) => m.type === "alive" && m.name === "b" && m.incarnation === 3),
    "corrected",
  );
  assertEquals(a.members().find((m) => m.name === "b")?.status, "alive");
});

Deno.test("core: a suspicion or probe of a member that left is answered with its leave", () => {
  const a = core("a");
  a.mergeRemoteState(0, [alive("b"), alive("c")]);
  a.receive(1, "c:1", [{ type: "dead", name: "b", incarnation: 0, from: "b" }]);
  assertEquals(a.takeReady().events.map((event) => event.type), ["join", "join", "leave"]);
  a.receive(2, "x:9", [{ type: "suspect", name: "b", incarnation: 0, from: "x" }]);
  a.receive(3, "y:9", [{ type: "pingReq", seq: 5, target: "b", targetAddress: "b:1" }]);
  const ready = a.takeReady();
  for (const to of ["x:9", "y:9"]) {
    const sent = ready.packets.filter((packet) => packet.to === to).flatMap((p) => [...p.messages]);
    assert(
      sent.some((m) => m.type === "dead" && m.name === "b" && m.from === "b"),
      `leave sent to ${to}`,
    );
  }
  assertEquals(ready.events.length, 0, "no fail event for a member that left");
});

Deno.test("core: a live member's address never flips, whatever its incarnation; the conflict is counted", () => {
  const a = core("a");
  a.mergeRemoteState(0, [alive("b", 2)]);
  a.takeReady();
  for (const incarnation of [2, 3, 50]) {
    a.receive(1, "z:1", [{ type: "alive", name: "b", address: "b2:1", incarnation, tags: {} }]);
  }
  const b = a.members().find((m) => m.name === "b");
  assertEquals([b?.address, b?.status, b?.incarnation], ["b:1", "alive", 2]);
  assertEquals(a.stats.nameConflicts, 3);
  assertEquals(a.takeReady().events, [], "no event: nothing changed");
});

Deno.test("core: a member returning at a new address is challenged, then admitted with a join event", () => {
  const a = core("a");
  a.mergeRemoteState(0, [alive("b", 2)]);
  a.takeReady();
  a.receive(2, "c:1", [{ type: "dead", name: "b", incarnation: 2, from: "c" }]);
  // The new instance's first claim (incarnation 0) could as well be a replayed packet.
  a.receive(3, "b3:1", [{ type: "alive", name: "b", address: "b3:1", incarnation: 0, tags: {} }]);
  assertEquals(a.members().find((m) => m.name === "b")?.address, "b:1", "not believed yet");
  const first = a.takeReady();
  assertEquals(first.events.map((event) => event.type), ["fail"]);
  const challenge = first.packets.filter((p) => p.to === "b3:1").flatMap((p) => [...p.messages]);
  assert(
    challenge.some((m) => m.type === "suspect" && m.name === "b" && m.incarnation === 2),
    "the claimed address is told what we know, so a live process there refutes",
  );
  a.receive(4, "b3:1", [{ type: "alive", name: "b", address: "b3:1", incarnation: 3, tags: {} }]);
  const b = a.members().find((m) => m.name === "b");
  assertEquals([b?.address, b?.status, b?.incarnation], ["b3:1", "alive", 3]);
  const events = a.takeReady().events;
  assertEquals(events.map((event) => event.type), ["join"]);
  assertEquals(events[0]?.member.address, "b3:1", "the join event carries the new address");
});

Deno.test("core: a join reply holding our name live elsewhere is a named conflict; failed or same address is not", () => {
  const a = core("a");
  const held = (status: MemberState["status"], address: string): MemberState[] => [
    { name: "a", address, incarnation: 4, status, tags: {} },
  ];
  const conflict = a.nameConflict(held("alive", "a2:1"));
  assert(conflict !== null && conflict.includes("a2:1") && conflict.includes("a:1"), "named");
  assert(a.nameConflict(held("suspect", "a2:1")) !== null, "suspect is live");
  assertEquals(a.nameConflict(held("dead", "a2:1")), null, "a failed old instance");
  assertEquals(a.nameConflict(held("left", "a2:1")), null, "a departed old instance");
  assertEquals(a.nameConflict(held("alive", "a:1")), null, "a restart at the same address");
});

Deno.test("core: changed tags are reported as an update", () => {
  const a = core("a");
  a.mergeRemoteState(0, [alive("b")]);
  a.takeReady();
  a.receive(1, "b:1", [{
    type: "alive",
    name: "b",
    address: "b:1",
    incarnation: 1,
    tags: { rpc: "b:8400" },
  }]);
  const [event] = a.takeReady().events;
  assertEquals([event?.type, event?.member.tags["rpc"]], ["update", "b:8400"]);
  assertThrows(
    () => a.setTags(2, { big: "x".repeat(250), more: "y".repeat(250), last: "z".repeat(100) }),
    "TOO_LARGE",
  );
});

Deno.test("core: compound packets stay within the UDP budget however much is queued", () => {
  const a = core("a");
  const members = Array.from(
    { length: 300 },
    (_, i) => alive(`member-with-a-long-name-${i}`, 0, { rpc: "10.0.0.1:8400" }),
  );
  a.mergeRemoteState(0, members);
  let packets = 0;
  for (let nowMs = 0; nowMs <= 2_000; nowMs += 10) {
    a.tick(nowMs);
    for (const packet of a.takeReady().packets) {
      packets++;
      assert(
        packet.sizeBytes + sealOverheadBytes <= defaultConfig.packetBytesMax,
        "within 1400 bytes",
      );
      assertEquals(encodePacket(packet.messages).length, packet.sizeBytes, "size is exact");
    }
  }
  assert(packets > 10, "gossip was sent");
});

Deno.test("core: a graceful leave is gossiped, then the node goes silent; nobody reports it failed", () => {
  const sim = cluster(6);
  sim.runUntil(1_000);
  sim.leave("n5");
  const leaver = sim.nodes.get("n5")?.core as Membership;
  assertEquals(leaver.status, "leaving");
  sim.runUntil(10_000);
  assertEquals(leaver.status, "left");
  for (const node of sim.running()) assertEquals(sim.viewOf(node, "n5")?.status, "left", node.name);
  assert(!sim.events.some(({ event }) => event.type === "fail"), "no fail event");
});

Deno.test("core: a ping from an unknown or failed member triggers a full-state exchange with it", () => {
  const a = core("a");
  a.receive(1, "s:1", [{ type: "ping", seq: 9, target: "a", source: "stranger" }]);
  const ready = a.takeReady();
  assertEquals(ready.pushPulls, [{ to: "s:1", join: false }]);
  assert(ready.packets.some((p) => p.to === "s:1" && p.messages[0]?.type === "ack"), "still acked");
  a.receive(2, "s:1", [{ type: "ping", seq: 10, target: "a", source: "stranger" }]);
  assertEquals(a.takeReady().pushPulls.length, 0, "rate-limited");
  // A member we hold failed is evidently running: we missed its refutation.
  a.mergeRemoteState(3, [alive("b"), alive("c")]);
  a.receive(3, "c:1", [{ type: "dead", name: "b", incarnation: 0, from: "c" }]);
  a.takeReady();
  a.receive(4, "b:1", [{ type: "ping", seq: 11, target: "a", source: "b" }]);
  assertEquals(a.takeReady().pushPulls, [{ to: "b:1", join: false }]);
  a.receive(5, "c:1", [{ type: "ping", seq: 12, target: "a", source: "c" }]);
  assertEquals(a.takeReady().pushPulls.length, 0, "no exchange with a member held alive");
});

Deno.test("core: serving a push/pull merges first, so a refutation rides back in the reply", () => {
  const a = core("a");
  const reply = a.handlePushPull(0, [alive("b"), { ...alive("a"), status: "dead" }]);
  const self = reply.find((member) => member.name === "a");
  assertEquals([self?.status, self?.incarnation], ["alive", 1]);
  assert(reply.some((member) => member.name === "b"), "b merged");
  a.join(["c:1"]);
  assertEquals(a.takeReady().pushPulls, [{ to: "c:1", join: true }]);
});

Deno.test("core: failed members are retried for the reconnect window, then reaped; tombstones expire", () => {
  const a = new Membership({
    name: "a",
    address: "a:1",
    random: new SeededRandom(5),
    nowMs: 0,
    config: {
      reconnectIntervalMs: 1_000,
      reconnectTimeoutMs: 10_000,
      tombstoneTimeoutMs: 5_000,
      reapIntervalMs: 500,
    },
  });
  a.mergeRemoteState(0, [alive("b"), alive("c"), alive("d")]);
  a.receive(0, "c:1", [{ type: "dead", name: "b", incarnation: 0, from: "c" }]);
  a.receive(0, "d:1", [{ type: "dead", name: "d", incarnation: 0, from: "d" }]);
  const names = () => a.members().map((member) => member.name);
  let reconnects = 0;
  let namesAt6s: string[] = [];
  for (let nowMs = 100; nowMs <= 11_000; nowMs += 100) {
    a.tick(nowMs);
    reconnects += a.takeReady().pushPulls.filter((request) => request.to === "b:1").length;
    if (nowMs === 6_000) namesAt6s = names();
  }
  assert(reconnects >= 1, "a tried to reconnect to failed b");
  assert(namesAt6s.includes("b") && !namesAt6s.includes("d"), `at 6 s: ${namesAt6s}`);
  assert(!names().includes("b"), "b reaped after the reconnect window");
});

Deno.test("core: a fresh suspect is probed next, with the suspicion in the ping (buddy system)", () => {
  const a = core("a");
  a.mergeRemoteState(0, Array.from({ length: 20 }, (_, i) => alive(`m${i}`)));
  a.receive(0, "m1:1", [{ type: "suspect", name: "m7", incarnation: 0, from: "m1" }]);
  a.takeReady();
  let probe: Message[] = [];
  for (let nowMs = 10; nowMs <= defaultConfig.probeIntervalMs && probe.length === 0; nowMs += 10) {
    a.tick(nowMs);
    probe = a.takeReady().packets.find((packet) => packet.messages[0]?.type === "ping")?.messages
      .slice() ?? [];
  }
  const [ping, ...rest] = probe;
  assert(
    ping?.type === "ping" && ping.target === "m7",
    `first probe goes to the suspect: ${ping?.type}`,
  );
  assert(
    rest.some((m) => m.type === "suspect" && m.name === "m7"),
    "the ping tells m7 it is suspected",
  );
});

Deno.test("core: a leave that overtakes the member's join keeps the late alive from reviving it", () => {
  const a = core("a");
  a.receive(0, "b:1", [{ type: "dead", name: "x", incarnation: 0, from: "x" }]);
  a.receive(1, "b:1", [{ type: "alive", name: "x", address: "x:1", incarnation: 0, tags: {} }]);
  assert(!a.members().some((member) => member.name === "x"), "the stale alive is ignored");
  a.receive(2, "b:1", [{ type: "alive", name: "x", address: "x:1", incarnation: 1, tags: {} }]);
  assert(a.members().some((member) => member.name === "x"), "a newer incarnation joins again");
});

Deno.test("core: replayed packets cannot bring back a reaped member; a refuting process can", () => {
  const a = new Membership({
    name: "a",
    address: "a:1",
    random: new SeededRandom(5),
    nowMs: 0,
    config: { reconnectTimeoutMs: 2_000, tombstoneTimeoutMs: 2_000, reapIntervalMs: 500 },
  });
  const recorded = [
    { type: "alive", name: "b", address: "b:1", incarnation: 4, tags: {} },
    { type: "alive", name: "c", address: "c:1", incarnation: 1, tags: {} },
  ] as const;
  a.receive(0, "b:1", recorded);
  a.receive(0, "b:1", [{ type: "dead", name: "b", incarnation: 4, from: "b" }]);
  a.receive(0, "d:1", [{ type: "dead", name: "c", incarnation: 1, from: "d" }]);
  for (let nowMs = 100; nowMs <= 3_000; nowMs += 100) a.tick(nowMs);
  a.takeReady();
  assert(!a.members().some((m) => m.name === "b" || m.name === "c"), "both reaped");
  a.receive(3_100, "b:1", recorded);
  assert(!a.members().some((m) => m.name === "b" || m.name === "c"), "replay resurrected nobody");
  assertEquals(a.takeReady().events, [], "no join event for a replay");
  assertEquals(a.stats.staleAlives, 2);
  // A process really running as b answers the challenge by refuting: it is admitted.
  a.receive(3_200, "b:1", [{ type: "alive", name: "b", address: "b:1", incarnation: 5, tags: {} }]);
  assertEquals(a.members().find((m) => m.name === "b")?.status, "alive");
  assertEquals(a.takeReady().events.map((event) => event.type), ["join"]);
});

Deno.test("core: a stale dead or left never beats a higher-incarnation alive, by packet or by push/pull", () => {
  const a = core("a");
  a.mergeRemoteState(0, [alive("b", 3), alive("c")]);
  a.takeReady();
  a.receive(1, "c:1", [{ type: "dead", name: "b", incarnation: 2, from: "c" }]);
  a.receive(1, "c:1", [{ type: "suspect", name: "b", incarnation: 2, from: "c" }]);
  assertEquals(a.members().find((m) => m.name === "b")?.status, "alive", "by packet");
  assert(
    packetsTo(a, "c:1").some((m) => m.type === "alive" && m.name === "b" && m.incarnation === 3),
    "the stale sender is corrected",
  );
  const stale = (status: MemberState["status"]): MemberState => ({
    name: "b",
    address: "b:1",
    incarnation: 2,
    status,
    tags: {},
  });
  for (const status of ["left", "dead", "suspect"] as const) {
    a.mergeRemoteState(2, [stale(status)]);
    assertEquals(
      a.members().find((m) => m.name === "b")?.status,
      "alive",
      `by push/pull ${status}`,
    );
  }
  assertEquals(a.takeReady().events, [], "no event");
});

Deno.test("core: with 900 departed members, probes still get indirect helpers and gossip live targets", () => {
  const a = new Membership({ name: "a", address: "a:1", random: new SeededRandom(9), nowMs: 0 });
  const live = Array.from({ length: 10 }, (_, i) => alive(`n${i}`));
  const ghosts = Array.from({ length: 900 }, (_, i) => alive(`ghost${i}`));
  a.mergeRemoteState(0, [...live, ...ghosts]);
  a.mergeRemoteState(0, ghosts.map((ghost) => ({ ...ghost, status: "left" as const })));
  assertEquals(a.liveCount, 11);
  a.takeReady();
  // Nobody answers: every probe fails and asks helpers; every gossip round has news.
  let pingReqs = 0;
  let probes = 0;
  const gossipTargets = new Set<string>();
  for (let nowMs = 10; nowMs <= 10_000; nowMs += 10) {
    a.tick(nowMs);
    for (const packet of a.takeReady().packets) {
      for (const message of packet.messages) {
        if (message.type === "pingReq") pingReqs++;
        if (message.type === "ping") probes++;
      }
      if (packet.to.startsWith("ghost")) gossipTargets.add(packet.to);
    }
  }
  assert(probes >= 3, `probed ${probes} times`);
  assert(pingReqs >= 3 * (probes - 1), `${pingReqs} ping-reqs for ${probes} probes`);
  assertEquals([...gossipTargets], [], "nothing is sent to departed members");
});

Deno.test("core: with 900 departed members, every probe slot finds a live target", () => {
  const record = (name: string) => ({
    name,
    address: `${name}:1`,
    incarnation: 0,
    status: "alive" as const,
    tags: {},
    statusChangeMs: 0,
  });
  const table = new MemberTable(record("a"), new SeededRandom(4), 1024);
  const ghosts = Array.from({ length: 900 }, (_, i) => record(`ghost${i}`));
  for (let i = 0; i < 10; i++) table.add(record(`n${i}`));
  for (const ghost of ghosts) table.add(ghost);
  for (const ghost of ghosts) table.setStatus(ghost, "left", 1);
  const misses = Array.from({ length: 200 }, () => table.nextProbeTarget())
    .filter((target) => target === undefined || target.status !== "alive").length;
  assertEquals(misses, 0, "probe slots lost to tombstones");
});
