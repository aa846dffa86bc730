/**
 * A node's part in a cluster: Raft over the file log, the peer transport, SWIM gossip that
 * tells members apart and carries their addresses, and — on the leader — the reconciliation
 * of the gossip member list into the Raft configuration (join → learner → voter once caught
 * up; graceful leave → removed; failure → kept, a failed node may come back).
 * @module
 */
import type { FileLog } from "../log/mod.ts";
import { openMetaStore } from "../log/mod.ts";
import {
  type ConfigChange,
  ENTRY_BYTES_MAX,
  type Membership,
  type PeerStream,
  PeerTransport,
  RaftError,
  type RaftErrorCode,
  RaftNode,
} from "../raft/mod.ts";
import { GossipNode, Keyring, type MembershipEvent } from "../discovery/mod.ts";
import {
  type ClusterHooks,
  type LeaderInfo,
  type Logger,
  peerDialer,
  type ProducerRef,
  type ServerInfo,
} from "../server/mod.ts";
import { RaftCommitLog } from "./_raft_log.ts";
import type { Forwarder } from "./_forward.ts";
import { PeerBook } from "./_peer_book.ts";
import { caughtUpLearner, nextChange, type ReconcileView } from "./_reconcile.ts";
import type { ProducerTableOptions } from "./_producers.ts";

/** How a node takes part in a cluster. */
export interface ClusterOptions {
  readonly nodeName: string;
  readonly dataDir: string;
  /** Host every listener binds and the address others reach this node at. */
  readonly bindHost: string;
  /** Gossip port (UDP and TCP) of `--bind-addr`; 0 picks a free one. */
  readonly gossipPort: number;
  /** Gossip address announced to members when it differs from the bound one (NAT, proxy). */
  readonly advertiseAddr?: string;
  /** Gossip addresses of members to join; empty: this node starts the cluster (or restarts). */
  readonly joinAddrs: readonly string[];
  /** The shared gossip key, or null for the built-in one (authenticates nothing). */
  readonly gossipKey: Uint8Array | null;
  readonly logger: Logger;
  /** Sends produce requests to the leader. */
  readonly forwarder: Forwarder;
  /** Dials a peer's RPC port for Raft (default: plaintext with the peer preamble). */
  readonly dialPeer?: (address: string) => Promise<PeerStream>;
  /** Raft tick; default the driver's. */
  readonly tickMs?: number;
  /**
   * The log's fsync policy. Under `interval` or `never` an append is acknowledged once a
   * quorum has it written, not synced: Raft runs with `durability: "none"` and says so.
   * Default `always`.
   */
  readonly fsyncMode?: "always" | "interval" | "never";
  /** The log's batch limit: the largest Raft entry. Refused if it cannot fit a peer frame. */
  readonly batchBytesMax?: number;
  /** Bounds of the producer table (exactly-once produce); defaults as documented there. */
  readonly producers?: ProducerTableOptions;
}

/**
 * A key for clusters started without `--gossip-key-file`. Everyone has it, so it hides and
 * authenticates nothing: it only keeps stray traffic from being taken for gossip.
 */
const publicGossipKey = new Uint8Array(32).fill(0x5a);

/** How often the node checks its leader, role and membership. */
const reconcileEveryMs = 200;

/** How long a graceful leave may take in all (each of its waits is bounded by what is left). */
const leaveBudgetMs = 6000;
/** How long the only voter, leaving, waits for a learner to catch up before staying instead. */
const learnerCatchUpMs = 2000;
/** How long a leaving leader waits for its own removal to commit before handing over instead. */
const removalCommitMs = 3000;

/** Name of the Raft state file (term, vote, configurations) in the data directory. */
export const RAFT_STATE_FILE = "raft_state";

/**
 * The applied index, saved now and then: after a restart the node serves what it knew to be
 * committed before any leader answers. Losing it only delays those reads until a leader does.
 */
const COMMITTED_HINT_FILE = "raft_applied";
/** How often (at most) the hint is saved while the applied index moves. */
const committedHintEveryMs = 1000;

async function readCommittedHint(path: string): Promise<number> {
  try {
    const value = Number((await Deno.readTextFile(path)).trim());
    return Number.isSafeInteger(value) && value > 0 ? value : 0;
  } catch {
    return 0;
  }
}

/** A cluster member as this node knows it. */
function membershipIds(membership: Membership): string[] {
  return [...membership.voters, ...membership.learners];
}

/** Runs Raft and gossip for one node; see the module doc. */
export class Cluster {
  readonly commitLog: RaftCommitLog;
  readonly #options: ClusterOptions;
  readonly #node: RaftNode;
  readonly #transport: PeerTransport;
  readonly #peers: PeerBook;
  #gossip: GossipNode | null = null;
  #rpcAddr = "";
  #timer: ReturnType<typeof setInterval> | null = null;
  #changing = false;
  #leaving = false;
  /** Set once this node's own removal, proposed by leave(), has committed (even late). */
  #removedSelf = false;
  #closed = false;
  #lastLeader: string | null = null;
  #lastMembership = "";
  #joining: Promise<void> | null = null;
  #savedApplied = 0;
  #hintSavedAtMs = 0;
  #savingHint: Promise<void> = Promise.resolve();

  private constructor(
    options: ClusterOptions,
    parts: {
      commitLog: RaftCommitLog;
      node: RaftNode;
      transport: PeerTransport;
      peers: PeerBook;
    },
  ) {
    this.#options = options;
    this.commitLog = parts.commitLog;
    this.#node = parts.node;
    this.#transport = parts.transport;
    this.#peers = parts.peers;
  }

  /**
   * Starts Raft on `store`. Bootstraps a one-voter cluster when the data dir has no Raft state
   * and no join addresses are given; with state, resumes it; with join addresses, waits to be
   * added by the leader.
   */
  static async open(store: FileLog, options: ClusterOptions): Promise<Cluster> {
    const batchBytesMax = options.batchBytesMax ?? 0;
    if (batchBytesMax > ENTRY_BYTES_MAX) {
      throw new ClusterStartError(
        `Cannot start a cluster member: a produce batch may hold ${batchBytesMax} bytes, more than one Raft peer frame carries (${ENTRY_BYTES_MAX}); lower --record-bytes-max to ${ENTRY_BYTES_MAX} or less`,
      );
    }
    const meta = await openMetaStore(`${options.dataDir}/${RAFT_STATE_FILE}`);
    const hasState = meta.load() !== null;
    const joining = !hasState && options.joinAddrs.length > 0;
    if (joining && store.lastIndex() > 0) {
      throw new ClusterStartError(
        `Cannot join a cluster with ${options.dataDir}: it holds a single-node log without cluster state; start the new member with an empty --data-dir`,
      );
    }
    const self = options.nodeName;
    const bootstrap = hasState
      ? undefined
      : joining
      ? { voters: [], learners: [] }
      : { voters: [self], learners: [] };
    const peers = await PeerBook.open(`${options.dataDir}/cluster_peers.json`, self);
    let node: RaftNode | null = null;
    const transport = new PeerTransport({
      onMessage: (message) => node?.step(message),
      // The leader re-probes a follower whose messages were dropped (the node defers it).
      onDrop: (to) => node?.reportUnreachable(to),
      dial: options.dialPeer ?? peerDialer(),
      logger: options.logger,
    });
    const route = {
      leader: () => leaderOf(node, peers, self, () => cluster.#rpcAddr),
      forward: (leader: LeaderInfo, values: Uint8Array[], producer?: ProducerRef) =>
        options.forwarder.produce(leader.rpcAddr, leader.id, values, producer),
    };
    const committedHint = await readCommittedHint(`${options.dataDir}/${COMMITTED_HINT_FILE}`);
    const commitLog = new RaftCommitLog(store, route, committedHint, {
      ...(options.producers ? { producers: options.producers } : {}),
    });
    node = new RaftNode({
      id: self,
      store,
      meta,
      send: (message) => transport.send(message),
      ...(bootstrap ? { bootstrap } : {}),
      onApply: (entry) => commitLog.onApply(entry),
      ...(options.tickMs ? { tickMs: options.tickMs } : {}),
      logger: options.logger,
      ...(batchBytesMax > 0 ? { entryBytesMax: batchBytesMax } : {}),
      // The one start-up line about weaker durability (the driver logs it).
      durability: (options.fsyncMode ?? "always") === "always" ? "fsync" : "none",
      durabilityHint: "start every node with --fsync always for full durability",
    });
    commitLog.attach(node);
    const cluster: Cluster = new Cluster(options, { commitLog, node, transport, peers });
    cluster.#savedApplied = committedHint;
    options.logger.info(
      hasState
        ? "cluster: resuming from saved Raft state"
        : joining
        ? "cluster: joining through the given members"
        : "cluster: bootstrapped a new one-voter cluster",
      { node: self },
    );
    return cluster;
  }

  /** The hooks the server uses (read barrier, leader hint, forwarded appends). */
  hooks(): ClusterHooks {
    return {
      readBarrier: () => this.commitLog.readBarrier(),
      leader: () => leaderOf(this.#node, this.#peers, this.#options.nodeName, () => this.#rpcAddr),
      appendHere: (values, producer) => this.commitLog.appendHere(values, producer),
    };
  }

  /** Every voter and learner with its RPC address; the leader flagged (none mid-election). */
  servers(): ServerInfo[] {
    const status = this.#node.status();
    return membershipIds(status.membership).map((id) => ({
      id,
      rpcAddr: id === this.#options.nodeName ? this.#rpcAddr : this.#peers.get(id)?.rpc ?? "",
      isLeader: id === status.leader,
    }));
  }

  /**
   * Serves a peer connection the RPC port's listener handed over. A certificate that names a
   * member speaks only for that member; a shared one (the book's `root`) names none and is
   * trusted for any member.
   */
  acceptPeer(stream: PeerStream, certificateName: string): void {
    const named = certificateName !== "" && isMember(this.#node, this.#peers, certificateName);
    this.#transport.accept(stream, named ? { peerName: certificateName } : {});
  }

  /** Counts of observed changes, for metrics. */
  readonly stats = { leaderChanges: 0, membershipChanges: 0 };

  /** Raft's counters (dropped messages, send errors, elections, unreachable reports). */
  raftStats(): ReturnType<RaftNode["stats"]> {
    return this.#node.stats();
  }

  /** The peer transport's counters and, per peer, its send queue. */
  transportStats(): {
    counters: ReturnType<PeerTransport["stats"]>;
    queues: ReturnType<PeerTransport["queues"]>;
  } {
    return { counters: this.#transport.stats(), queues: this.#transport.queues() };
  }

  /** The leader's view of its followers (empty elsewhere). */
  followers(): ReturnType<RaftNode["followers"]> {
    return this.#node.followers();
  }

  /** The gossip member list (empty before gossip starts). */
  gossipMembers(): ReturnType<GossipNode["members"]> {
    return this.#gossip?.members() ?? [];
  }

  /**
   * Called with readiness whenever it changes: ready once a leader is known and this node has
   * applied the commit index it learned first; not ready while no leader is known.
   */
  onReadiness: (ready: boolean) => void = () => {};
  #ready = false;
  #catchUpIndex: number | null = null;

  #updateReadiness(status: ReturnType<RaftNode["status"]>): void {
    let ready = false;
    if (status.leader !== null) {
      this.#catchUpIndex ??= status.commitIndex;
      ready = status.appliedIndex >= this.#catchUpIndex;
    }
    if (ready === this.#ready) return;
    this.#ready = ready;
    this.onReadiness(ready);
  }

  /** Raft's status, for metrics and readiness. */
  status(): ReturnType<RaftNode["status"]> {
    return this.#node.status();
  }

  /** Starts gossip (announcing `rpcAddr` and the Raft address) and the leader's reconciler. */
  async startGossip(rpcAddr: string): Promise<void> {
    const { bindHost, gossipPort, nodeName } = this.#options;
    this.#rpcAddr = rpcAddr;
    const keyring = await Keyring.create(this.#options.gossipKey ?? publicGossipKey);
    this.#gossip = await GossipNode.start({
      name: nodeName,
      bindAddress: `${hostForAddress(bindHost)}:${gossipPort}`,
      ...(this.#options.advertiseAddr ? { advertiseAddress: this.#options.advertiseAddr } : {}),
      keyring,
      // Raft traffic shares the RPC port (the listener tells peers from gRPC clients).
      tags: { rpc: rpcAddr, raft: rpcAddr },
      handler: { onEvent: (event) => this.#onGossip(event) },
    });
    this.#timer = setInterval(() => this.#tick(), reconcileEveryMs);
    const seeds = [...new Set([...this.#options.joinAddrs, ...this.#peers.gossipAddresses()])]
      .filter((address) => address !== this.#gossip!.address);
    if (seeds.length > 0) this.#joining = this.#joinLoop(seeds);
  }

  /** The gossip address actually bound. */
  get gossipAddress(): string {
    return this.#gossip?.address ?? "";
  }

  /**
   * Joins through `seeds`, retrying with backoff (250 ms doubling to 2 s). A member restarted
   * on a new address is refused (`NAME_CONFLICT`) while the others still see its old instance
   * alive: it keeps retrying until that instance is declared failed, then rejoins under its
   * name. Remembered seeds (no join addresses given) are tried 10 times for other failures.
   */
  async #joinLoop(seeds: string[]): Promise<void> {
    const given = this.#options.joinAddrs.length > 0;
    let failures = 0;
    let delayMs = 250;
    for (let attempt = 1; attempt <= 600 && !this.#closed; attempt++) {
      try {
        await this.#gossip!.join(seeds);
        this.#options.logger.info("cluster: joined gossip", { seeds });
        return;
      } catch (error) {
        const conflict = (error as { code?: string }).code === "NAME_CONFLICT";
        if (!conflict) failures++;
        if (attempt === 1 || attempt % 30 === 0) {
          this.#options.logger.warn(
            conflict
              ? "cluster: the members still see an earlier instance of this node alive; retrying until it is declared failed"
              : "cluster: no member answered yet; retrying",
            { seeds, attempt, error: String(error) },
          );
        }
        // Without given join addresses the seeds are remembered members: best effort only.
        if (!given && failures >= 10) return;
      }
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      delayMs = Math.min(delayMs * 2, 2000);
    }
  }

  #onGossip(event: MembershipEvent): void {
    const { name, tags, address } = event.member;
    if (name === this.#options.nodeName) return;
    if (event.type === "join" || event.type === "update") {
      const raft = tags.raft ?? "";
      const rpc = tags.rpc ?? "";
      if (raft !== "") this.#transport.setPeer(name, raft);
      this.#peers.set(name, { gossip: address, rpc, raft });
    }
    this.#options.logger.debug("cluster: gossip event", { type: event.type, member: name });
  }

  /** Saves the applied index (off the request path, one save at a time). */
  #saveCommittedHint(appliedIndex: number, force = false): Promise<void> {
    const now = Date.now();
    // Never lower: after a restart Raft replays from the start while the hint stands.
    if (appliedIndex <= this.#savedApplied) return this.#savingHint;
    if (!force && now - this.#hintSavedAtMs < committedHintEveryMs) return this.#savingHint;
    this.#savedApplied = appliedIndex;
    this.#hintSavedAtMs = now;
    const path = `${this.#options.dataDir}/${COMMITTED_HINT_FILE}`;
    this.#savingHint = this.#savingHint.then(async () => {
      try {
        await Deno.writeTextFile(`${path}.tmp`, String(appliedIndex));
        await Deno.rename(`${path}.tmp`, path);
      } catch (error) {
        this.#options.logger.debug("cluster: could not save the applied index", {
          error: String(error),
        });
      }
    });
    return this.#savingHint;
  }

  #tick(): void {
    const status = this.#node.status();
    void this.#saveCommittedHint(status.appliedIndex);
    this.#updateReadiness(status);
    if (status.leader !== this.#lastLeader) {
      this.#lastLeader = status.leader;
      this.stats.leaderChanges++;
      this.#options.logger.info("cluster: leader changed", {
        leader: status.leader,
        term: status.term,
        role: status.role,
      });
    }
    const membership = JSON.stringify(status.membership);
    if (membership !== this.#lastMembership) {
      this.#lastMembership = membership;
      this.stats.membershipChanges++;
      this.#options.logger.info("cluster: membership changed", {
        voters: status.membership.voters,
        learners: status.membership.learners,
      });
    }
    if (status.role !== "leader" || this.#changing || this.#leaving) return;
    const change = this.#nextChange(status);
    if (change === null) return;
    this.#changing = true;
    this.#node.changeMembership(change).then(
      () => this.#options.logger.info("cluster: configuration change committed", { ...change }),
      (error) =>
        this.#options.logger.debug("cluster: configuration change not done yet", {
          ...change,
          error: String(error),
        }),
    ).finally(() => this.#changing = false);
  }

  /** The one change that brings the configuration closer to the gossip member list. */
  #nextChange(status: ReturnType<RaftNode["status"]>): ConfigChange | null {
    return nextChange(this.#reconcileView(status));
  }

  /** The member list (from gossip) and Raft's view, as reconciliation and leave() judge them. */
  #reconcileView(status: ReturnType<RaftNode["status"]>): ReconcileView {
    return {
      self: this.#options.nodeName,
      members: (this.#gossip?.members() ?? []).map((member) => ({
        name: member.name,
        status: member.status,
        hasRaft: (member.tags.raft ?? "") !== "",
      })),
      membership: status.membership,
      followers: this.#node.followers(),
      commitIndex: status.commitIndex,
    };
  }

  /**
   * Removes member `name` from the Raft configuration for good (the operator's way to drop a
   * failed member; a graceful stop removes itself). Only the leader does it, one change at a
   * time; a member gossip reports alive is refused, or the leader would add it straight back.
   * Resolves once the change is committed, or with the reason it was not made.
   */
  async removeMember(name: string): Promise<RemoveMemberResult> {
    const status = this.#node.status();
    const leader = leaderOf(this.#node, this.#peers, this.#options.nodeName, () => this.#rpcAddr);
    const refuse = (code: RemoveMemberRefusal, message: string): RemoveMemberResult => ({
      removed: false,
      code,
      message,
      leader,
    });
    if (status.role !== "leader") {
      return refuse(
        leader === null ? "NO_LEADER" : "NOT_LEADER",
        leader === null
          ? `Cannot remove ${name}: the cluster has no leader right now; retry shortly`
          : `Cannot remove ${name} here: ask the leader ${leader.id} (${leader.rpcAddr})`,
      );
    }
    if (!membershipIds(status.membership).includes(name)) {
      return refuse("NOT_MEMBER", `Cannot remove ${name}: it is not a member of the cluster`);
    }
    const gossip = this.#gossip?.members().find((member) => member.name === name);
    const live = gossip?.status === "alive" || gossip?.status === "suspect";
    if (name === this.#options.nodeName || live) {
      return refuse(
        "MEMBER_ALIVE",
        `Cannot remove ${name}: it is alive; stop it (SIGTERM leaves the cluster) or wait until it is declared failed`,
      );
    }
    if (this.#changing || this.#leaving) {
      return refuse("CHANGE_PENDING", `Cannot remove ${name}: another change is under way; retry`);
    }
    this.#changing = true;
    try {
      await this.#node.changeMembership({ type: "remove", id: name });
      this.#options.logger.info("cluster: member removed by the operator", { member: name });
      return { removed: true, name };
    } catch (error) {
      const code = error instanceof RaftError ? error.code : "UNKNOWN_OUTCOME";
      return refuse(code, `Cannot remove ${name}: ${(error as Error).message}`);
    } finally {
      this.#changing = false;
    }
  }

  /**
   * Hands leadership to voter `to`, or to the most up-to-date voter when null (the operator's
   * `strand transfer-leadership`). Only the leader does it; resolves once another node leads
   * (within `timeoutMs`), or with the reason it did not happen.
   */
  async transferLeadership(to: string | null, timeoutMs = 5000): Promise<TransferResult> {
    const status = this.#node.status();
    const leader = leaderOf(this.#node, this.#peers, this.#options.nodeName, () => this.#rpcAddr);
    const refuse = (code: TransferRefusal, message: string): TransferResult => ({
      moved: false,
      code,
      message,
      leader,
    });
    if (status.role !== "leader") {
      return leader === null
        ? refuse("NO_LEADER", "Cannot transfer leadership: the cluster has no leader; retry")
        : refuse("NOT_LEADER", `Ask the leader ${leader.id} (${leader.rpcAddr})`);
    }
    const self = this.#options.nodeName;
    const voters = status.membership.voters.filter((id) => id !== self);
    const target = to ?? this.#node.followers()
      .filter((follower) => voters.includes(follower.id))
      .sort((a, b) => b.match - a.match)[0]?.id ??
      null;
    if (target === self) return { moved: true, leader: self };
    if (target === null || !voters.includes(target)) {
      return refuse(
        "INVALID_CHANGE",
        target === null
          ? "Cannot transfer leadership: this node is the only voter"
          : `Cannot transfer leadership to ${target}: it is not a voter (voters: ${
            status.membership.voters.join(", ")
          })`,
      );
    }
    try {
      this.#node.transferLeadership(target);
    } catch (error) {
      const code = (error as { code?: TransferRefusal }).code ?? "TRANSFER_IN_PROGRESS";
      return refuse(code, `Cannot transfer leadership to ${target}: ${String(error)}`);
    }
    await waitUntil(() => this.#node.status().leader === target, timeoutMs).catch(() => {});
    if (this.#node.status().leader === target) return { moved: true, leader: target };
    return refuse(
      "UNKNOWN_OUTCOME",
      `Leadership did not reach ${target} within ${timeoutMs} ms; check "strand status"`,
    );
  }

  /**
   * Leaves gracefully, so that the node ends up out of the configuration with the cluster
   * still able to commit (each step bounded; the whole within {@linkcode leaveBudgetMs}):
   *
   * - a leader proposes its own removal and waits for it to commit: the remaining voters
   *   alone then form the quorum (Raft dissertation §4.2.2), and Raft hands leadership to the
   *   most up-to-date of them. Stopping before that could leave two voters needing a vote
   *   from the one that left;
   * - the only voter first promotes a caught-up learner (up to 2 s for one to catch up), then
   *   leaves as a leader does. Without such a learner it stays in the configuration (nothing
   *   could remove it), announces no leave, and says so once; the cluster resumes when it
   *   restarts;
   * - any other member announces its leave and, if it is a voter, keeps running until the
   *   leader has removed it (the leader stops replicating to it);
   * - a voter that knows no leader (an election under way) first waits for one: if it wins,
   *   it leaves as a leader does, otherwise as a follower.
   */
  async leave(): Promise<void> {
    this.#leaving = true;
    const deadline = Date.now() + leaveBudgetMs;
    // A change under way (a promotion, a removal) decides who the voters are, and this node's
    // own removal can only be proposed once it has committed: let it finish.
    await waitUntil(() => !this.#changing, 2000).catch(() => {});
    const self = this.#options.nodeName;
    const { voters } = this.#node.status().membership;
    if (voters.length === 1 && voters[0] === self) {
      const successor = await this.#promoteForLeave(deadline);
      if (successor === null) {
        this.#options.logger.warn(
          "cluster: this node is the only voter, so it stays in the configuration; the cluster takes no writes until it restarts",
          { learners: this.#node.status().membership.learners },
        );
        return;
      }
    }
    const now = this.#node.status();
    if (now.leader === null && now.membership.voters.includes(self)) {
      await this.#awaitLeader(deadline);
    }
    if (this.#node.status().role === "leader") {
      if (await this.#removeSelf(deadline)) return;
      await this.#handOver(deadline);
      if (this.#removedSelf) return;
    }
    await this.#leaveAsFollower(deadline);
  }

  /**
   * A voter that knows no leader waits, within the budget, for an election to end: stopping
   * now could take the quorum with it (of two voters, the other could then neither win an
   * election nor remove it). Winning, it waits for its term's first entry to commit, before
   * which it could not propose its own removal.
   */
  async #awaitLeader(deadline: number): Promise<void> {
    const logger = this.#options.logger;
    logger.info("cluster: no leader is known; waiting for one before leaving");
    try {
      await waitUntil(() => this.#node.status().leader !== null, remaining(deadline));
    } catch {
      logger.warn("cluster: no leader emerged within the leave's budget; leaving unremoved", {
        budgetMs: leaveBudgetMs,
      });
      return;
    }
    const won = this.#node.status();
    if (won.leader !== this.#options.nodeName) return;
    await waitUntil(() => {
      const now = this.#node.status();
      return now.role !== "leader" || now.commitIndex >= won.lastIndex;
    }, Math.min(removalCommitMs, remaining(deadline))).catch(() => {});
  }

  /**
   * The only voter, leading, promotes a learner that holds everything committed (waiting a
   * little for one to catch up). Resolves with the new voter once its promotion committed.
   */
  async #promoteForLeave(deadline: number): Promise<string | null> {
    const status = this.#node.status();
    if (status.role !== "leader" || status.membership.learners.length === 0) return null;
    let learner: string | null = null;
    await waitUntil(
      () => (learner = caughtUpLearner(this.#reconcileView(this.#node.status()))) !== null,
      Math.min(learnerCatchUpMs, remaining(deadline)),
    ).catch(() => {});
    if (learner === null) return null;
    try {
      await within(
        this.#node.changeMembership({ type: "addVoter", id: learner }),
        remaining(deadline),
      );
      this.#options.logger.info("cluster: promoted a learner to take over before leaving", {
        to: learner,
      });
      return learner;
    } catch (error) {
      this.#options.logger.warn("cluster: could not promote a learner to take over", {
        learner,
        error: String(error),
      });
      return null;
    }
  }

  /**
   * The leader announces its leave (so the next leader does not add it back) and removes
   * itself; once that commits, Raft steps it down and hands leadership to the most
   * up-to-date voter. Resolves false if the removal was refused or did not commit in time.
   */
  async #removeSelf(deadline: number): Promise<boolean> {
    const self = this.#options.nodeName;
    const announced = this.#gossip?.leave() ?? Promise.resolve();
    const removal = this.#node.changeMembership({ type: "remove", id: self });
    // One that timed out is still in the log and may commit during the hand-over.
    removal.then(() => this.#removedSelf = true, () => {});
    try {
      // Bounded below the whole budget: a removal that cannot commit (another voter down)
      // leaves time for the hand-over.
      await within(removal, Math.min(removalCommitMs, remaining(deadline)));
      this.#options.logger.info(
        "cluster: removed this node from the configuration before leaving; leadership passes to the remaining voters",
        { voters: this.#node.status().membership.voters },
      );
      return true;
    } catch (error) {
      this.#options.logger.warn(
        "cluster: could not remove this node from the configuration; handing leadership over instead",
        { error: String(error) },
      );
      return false;
    } finally {
      await withTimeout(announced, Math.min(2000, remaining(deadline)));
    }
  }

  /**
   * The leader hands leadership to the most up-to-date voter (when its removal failed) and
   * waits until it hears from the new leader, so that it then leaves as that leader's follower,
   * or until its removal, if it timed out, commits after all: the new leader, not replicating
   * to a node it removed, would never be heard from.
   */
  async #handOver(deadline: number): Promise<void> {
    const self = this.#options.nodeName;
    const { voters } = this.#node.status().membership;
    const successor = this.#node.followers()
      .filter((follower) => voters.includes(follower.id) && follower.id !== self)
      .sort((a, b) => b.match - a.match)[0];
    if (successor === undefined) return;
    try {
      this.#node.transferLeadership(successor.id);
      // Until it hears from the new leader this node knows none, and would not wait to be
      // removed: of two voters, the new leader could then never commit without it.
      await waitUntil(() => {
        const leader = this.#node.status().leader;
        return this.#removedSelf || (leader !== null && leader !== self);
      }, Math.min(3000, remaining(deadline)));
      if (this.#removedSelf) {
        this.#options.logger.info(
          "cluster: this node's removal committed late; leadership passes to the remaining voters",
          { voters: this.#node.status().membership.voters },
        );
        return;
      }
      this.#options.logger.info("cluster: handed leadership over before leaving", {
        to: successor.id,
      });
    } catch (error) {
      this.#options.logger.warn("cluster: could not hand leadership over", {
        error: String(error),
      });
    }
  }

  /**
   * Announces the leave; a voter then keeps running until its leader stops replicating to it,
   * which it does once it has removed it: a two-voter leader left without the leaver's answers
   * would step down (check-quorum) and could never be elected again.
   */
  async #leaveAsFollower(deadline: number): Promise<void> {
    const before = this.#node.status();
    const self = this.#options.nodeName;
    if (this.#gossip !== null) {
      await withTimeout(this.#gossip.leave(), Math.min(2000, remaining(deadline)));
    }
    const leader = before.leader;
    if (!before.membership.voters.includes(self) || leader === null || leader === self) return;
    await waitUntil(() => {
      const now = this.#node.status();
      return now.role !== "follower" || now.leader !== leader;
    }, remaining(deadline)).catch(() => {
      this.#options.logger.warn("cluster: left before the leader removed this node", { leader });
    });
  }

  /** Stops Raft, gossip and the peer transport (the store is closed by its owner). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    if (this.#timer !== null) clearInterval(this.#timer);
    this.commitLog.close();
    const applied = this.#node.status().appliedIndex;
    await this.#node.close();
    await this.#saveCommittedHint(applied, true);
    await this.#transport.close();
    await this.#gossip?.close();
    await this.#joining;
    await this.#peers.flush();
  }
}

/** Why {@linkcode Cluster.removeMember} made no change (Raft's codes, and its own). */
export type RemoveMemberRefusal = RaftErrorCode | "NOT_MEMBER" | "MEMBER_ALIVE";

/** The outcome of {@linkcode Cluster.removeMember}. */
export type RemoveMemberResult =
  | { readonly removed: true; readonly name: string }
  | {
    readonly removed: false;
    readonly code: RemoveMemberRefusal;
    readonly message: string;
    /** The leader this node knows of (where to ask instead), or null. */
    readonly leader: LeaderInfo | null;
  };

/** Why {@linkcode Cluster.transferLeadership} did not move leadership. */
export type TransferRefusal = RaftErrorCode;

/** The outcome of {@linkcode Cluster.transferLeadership}. */
export type TransferResult =
  | { readonly moved: true; readonly leader: string }
  | {
    readonly moved: false;
    readonly code: TransferRefusal;
    readonly message: string;
    /** The leader this node knows of, or null. */
    readonly leader: LeaderInfo | null;
  };

/** Raised when the data directory and the flags do not make a valid cluster member. */
export class ClusterStartError extends Error {
  override name = "ClusterStartError";
}

function isMember(node: RaftNode | null, peers: PeerBook, name: string): boolean {
  if (peers.get(name) !== undefined) return true;
  return node !== null && membershipIds(node.status().membership).includes(name);
}

function leaderOf(
  node: RaftNode | null,
  peers: PeerBook,
  self: string,
  ownRpcAddr: () => string,
): LeaderInfo | null {
  const leader = node?.status().leader ?? null;
  if (leader === null) return null;
  return { id: leader, rpcAddr: leader === self ? ownRpcAddr() : peers.get(leader)?.rpc ?? "" };
}

function hostForAddress(host: string): string {
  return host.includes(":") ? `[${host}]` : host;
}

/** What the bounded waits below reject with when their time is up. */
class NotDoneInTime extends Error {}

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new NotDoneInTime(`not done within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function remaining(deadline: number): number {
  return Math.max(0, deadline - Date.now());
}

/** Settles like `promise`, or rejects with NotDoneInTime after `timeoutMs`. */
async function within<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) =>
        timer = setTimeout(
          () => reject(new NotDoneInTime(`not done within ${timeoutMs} ms`)),
          timeoutMs,
        )
      ),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits for `promise` at most `timeoutMs`: taking longer is not an error, failing is. */
async function withTimeout(promise: Promise<void>, timeoutMs: number): Promise<void> {
  await within(promise, timeoutMs).catch((error) => {
    if (!(error instanceof NotDoneInTime)) throw error;
  });
}
