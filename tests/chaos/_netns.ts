/**
 * A private network of Linux network namespaces for partition tests: one namespace per node,
 * each with a veth into a switch namespace holding bridges, and a second veth straight to the
 * root namespace so the test's clients reach every node even while it is cut off from its
 * peers. Cutting a link detaches the node's port from its bridge; a split moves each side's
 * ports to a bridge of its own. Needs root and `ip` (iproute2); see {@linkcode netnsSupport}.
 *
 * Names carry a slot number K (1..250), claimed with a lock file, so concurrent runs never
 * share a name or a route: namespaces `sck<K>n<i>` / `sck<K>sw`, root links `sck<K>h<i>`,
 * node addresses 10.213.K.i/24 (peers) reached from the root through 10.214.K.i.
 * @module
 */

import type { ChaosNet } from "./_cluster.ts";

const lockDir = "/tmp/strand-chaos-locks";

/** Runs `ip` with `args`; throws with its stderr on failure. */
async function ip(args: string[]): Promise<string> {
  const { code, stdout, stderr } = await new Deno.Command("ip", {
    args,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decoder = new TextDecoder();
  if (code !== 0) throw new Error(`ip ${args.join(" ")} failed: ${decoder.decode(stderr)}`);
  return decoder.decode(stdout);
}

/** Why namespaces cannot be used here, or null when they can. */
export async function netnsSupport(): Promise<string | null> {
  if (Deno.env.get("STRAND_CHAOS_FORCE_PROXY") === "1") {
    return "STRAND_CHAOS_FORCE_PROXY=1 asks for the proxy fallback";
  }
  if (Deno.build.os !== "linux") return `network namespaces need Linux (this is ${Deno.build.os})`;
  if (Deno.uid() !== 0) return "network namespaces need root (uid is not 0)";
  const probe = `sckp${Deno.pid % 10000}x${Math.floor(Math.random() * 1e6)}`;
  try {
    await ip(["netns", "add", probe]);
    await ip(["netns", "del", probe]);
    return null;
  } catch (error) {
    return `cannot create a network namespace: ${String(error).split("\n")[0]}`;
  }
}

function alive(pid: number): boolean {
  try {
    Deno.kill(pid, "SIGCONT");
    return true;
  } catch {
    return false;
  }
}

/** Claims a free slot K; a slot whose owner died is cleaned and reused. */
async function claimSlot(): Promise<number> {
  await Deno.mkdir(lockDir, { recursive: true });
  await sweepDeadRuns();
  const start = (Deno.pid % 250) + 1;
  for (let n = 0; n < 250; n++) {
    const slot = ((start + n - 1) % 250) + 1;
    const path = `${lockDir}/${slot}`;
    try {
      await Deno.writeTextFile(path, String(Deno.pid), { createNew: true });
      await removeSlot(slot); // leftovers of a run that died without cleaning
      return slot;
    } catch (error) {
      if (!(error instanceof Deno.errors.AlreadyExists)) throw error;
      const owner = Number(await Deno.readTextFile(path).catch(() => "0"));
      if (owner > 0 && !alive(owner)) await Deno.remove(path).catch(() => {});
    }
  }
  throw new Error(`no free network slot in ${lockDir}: remove stale files there`);
}

/** Cleans up after runs that died without closing (their lock names a dead pid). */
async function sweepDeadRuns(): Promise<void> {
  for await (const entry of Deno.readDir(lockDir)) {
    const slot = Number(entry.name);
    if (!Number.isInteger(slot) || slot < 1 || slot > 250) continue;
    const path = `${lockDir}/${entry.name}`;
    const owner = Number(await Deno.readTextFile(path).catch(() => "0"));
    if (owner > 0 && alive(owner)) continue;
    await removeSlot(slot);
    await Deno.remove(path).catch(() => {});
  }
}

/** Deletes every namespace and root link of `slot` (best effort). */
async function removeSlot(slot: number): Promise<void> {
  const prefix = `sck${slot}`;
  const namespaces = (await ip(["netns", "list"]).catch(() => "")).split("\n")
    .map((line) => line.split(" ")[0] ?? "")
    .filter((name) => name.startsWith(`${prefix}n`) || name === `${prefix}sw`);
  for (const name of namespaces) {
    // Nodes a dead run left inside keep a namespace alive: stop them by pid first.
    const pids = (await ip(["netns", "pids", name]).catch(() => "")).split("\n").map(Number);
    for (const pid of pids.filter((pid) => pid > 0)) {
      try {
        Deno.kill(pid, "SIGKILL");
      } catch { /* already gone */ }
    }
    await ip(["netns", "del", name]).catch(() => {});
  }
  const links = (await ip(["-o", "link", "show"]).catch(() => "")).split("\n")
    .map((line) => /^\d+:\s+([^:@]+)/.exec(line)?.[1] ?? "")
    .filter((name) => name.startsWith(`${prefix}h`));
  for (const name of links) await ip(["link", "del", name]).catch(() => {});
}

/** One node's place in the lab. */
export interface LabHost {
  /** Namespace the node runs in. */
  readonly namespace: string;
  /** Its address on the peer network (bind it). */
  readonly address: string;
}

/** The namespaces, bridges and links of one test run. */
export class NetnsLab implements ChaosNet, AsyncDisposable {
  readonly kind = "netns";
  readonly slot: number;
  readonly hosts: LabHost[] = [];
  readonly #switch: string;
  /** Bridge each node's port is on now; null: detached. */
  readonly #placement: (number | null)[] = [];
  #closed = false;

  private constructor(slot: number) {
    this.slot = slot;
    this.#switch = `sck${slot}sw`;
  }

  /** Builds a lab of `count` hosts (bridges br0..br{count-1}); cleans up if a step fails. */
  static async create(count: number): Promise<NetnsLab> {
    const lab = new NetnsLab(await claimSlot());
    try {
      await lab.#build(count);
    } catch (error) {
      await lab.close();
      throw error;
    }
    return lab;
  }

  async #build(count: number): Promise<void> {
    const sw = this.#switch;
    const k = this.slot;
    await ip(["netns", "add", sw]);
    await ip(["-n", sw, "link", "set", "lo", "up"]);
    for (let b = 0; b < count; b++) {
      await ip(["-n", sw, "link", "add", `br${b}`, "type", "bridge"]);
      await ip(["-n", sw, "link", "set", `br${b}`, "up"]);
    }
    for (let i = 1; i <= count; i++) {
      const ns = `sck${k}n${i}`;
      const address = `10.213.${k}.${i}`;
      await ip(["netns", "add", ns]);
      await ip(["-n", ns, "link", "set", "lo", "up"]);
      // Peer network: eth0 in the node, port p<i> on a bridge of the switch.
      await ip([
        "-n",
        ns,
        "link",
        "add",
        "eth0",
        "type",
        "veth",
        "peer",
        "name",
        `p${i}`,
        "netns",
        sw,
      ]);
      await ip(["-n", sw, "link", "set", `p${i}`, "master", "br0"]);
      await ip(["-n", sw, "link", "set", `p${i}`, "up"]);
      await ip(["-n", ns, "addr", "add", `${address}/24`, "dev", "eth0"]);
      await ip(["-n", ns, "link", "set", "eth0", "up"]);
      // Client path: root link sck<K>h<i> ↔ c0 in the node, host routes both ways.
      const host = `sck${k}h${i}`;
      await ip(["link", "add", host, "type", "veth", "peer", "name", "c0", "netns", ns]);
      await ip(["addr", "add", `10.214.${k}.${i}/32`, "dev", host]);
      await ip(["link", "set", host, "up"]);
      await ip(["-n", ns, "link", "set", "c0", "up"]);
      await ip(["-n", ns, "route", "add", `10.214.${k}.${i}/32`, "dev", "c0"]);
      await ip(["route", "add", `${address}/32`, "dev", host]);
      this.hosts.push({ namespace: ns, address });
      this.#placement.push(0);
    }
  }

  /** Cuts node `index` (0-based) off the peer network (its clients still reach it). */
  async isolate(index: number): Promise<void> {
    await ip(["-n", this.#switch, "link", "set", `p${index + 1}`, "nomaster"]);
    this.#placement[index] = null;
  }

  /** Splits the peer network: each group of node indexes only reaches its own group. */
  async split(groups: number[][]): Promise<void> {
    for (const [bridge, group] of groups.entries()) {
      for (const index of group) await this.#place(index, bridge);
    }
  }

  /** Puts every node back on one bridge. */
  async heal(): Promise<void> {
    for (let index = 0; index < this.hosts.length; index++) await this.#place(index, 0);
  }

  async #place(index: number, bridge: number): Promise<void> {
    if (this.#placement[index] === bridge) return;
    await ip(["-n", this.#switch, "link", "set", `p${index + 1}`, "master", `br${bridge}`]);
    this.#placement[index] = bridge;
  }

  get size(): number {
    return this.hosts.length;
  }

  /** Node i binds its peer address: gossip 8401, gRPC 8400, HTTP 8402. */
  nodeArgs(index: number): string[] {
    const address = this.hosts[index]!.address;
    return ["--bind-addr", `${address}:8401`, "--rpc-port", "8400", "--http-port", "8402"];
  }

  /** Reached from the root namespace over the node's own link. */
  clientAddr(index: number): string {
    return `${this.hosts[index]!.address}:8400`;
  }

  seedAddr(): string {
    return `${this.hosts[0]!.address}:8401`;
  }

  /** The argv prefix that runs a command inside node `index`'s namespace. */
  execPrefix(index: number): string[] {
    return ["ip", "netns", "exec", this.hosts[index]!.namespace];
  }

  /** Deletes namespaces, links and routes (processes inside must be stopped first). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await removeSlot(this.slot);
    await Deno.remove(`${lockDir}/${this.slot}`).catch(() => {});
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}
