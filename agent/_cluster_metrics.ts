/**
 * Raft and membership metrics of a cluster member, computed on scrape.
 * @module
 */
import type { Metrics } from "../observe/mod.ts";
import type { Cluster } from "./_cluster.ts";

const roles = ["follower", "preCandidate", "candidate", "leader"] as const;

/** snake_case for a camelCase counter name (label values read like the metric names). */
function snake(name: string): string {
  return name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
}

/** Registers the cluster's gauges on `metrics`. */
export function registerClusterMetrics(metrics: Metrics, cluster: Cluster): void {
  registerRaftMetrics(metrics, cluster);
  registerPeerMetrics(metrics, cluster);
}

function registerRaftMetrics(metrics: Metrics, cluster: Cluster): void {
  metrics.gauge({
    name: "strand_raft_term",
    help: "Current Raft term.",
    collect() {
      this.set(cluster.status().term);
    },
  });
  metrics.gauge({
    name: "strand_raft_role",
    help: "1 for this node's Raft role, 0 for the others.",
    labelNames: ["role"],
    collect() {
      const role = cluster.status().role;
      for (const each of roles) this.set({ role: each }, each === role ? 1 : 0);
    },
  });
  metrics.gauge({
    name: "strand_raft_has_leader",
    help: "1 when this node knows a leader, 0 during an election.",
    collect() {
      this.set(cluster.status().leader === null ? 0 : 1);
    },
  });
  metrics.gauge({
    name: "strand_raft_commit_index",
    help: "Highest Raft index known committed.",
    collect() {
      this.set(cluster.status().commitIndex);
    },
  });
  metrics.gauge({
    name: "strand_raft_applied_index",
    help: "Highest Raft index applied here (its records are readable).",
    collect() {
      this.set(cluster.status().appliedIndex);
    },
  });
  metrics.gauge({
    name: "strand_raft_follower_match_index",
    help: "On the leader: the highest index each follower is known to hold.",
    labelNames: ["follower"],
    collect() {
      this.reset();
      for (const follower of cluster.followers()) {
        this.set({ follower: follower.id }, follower.match);
      }
    },
  });
  metrics.gauge({
    name: "strand_raft_follower_lag_entries",
    help: "On the leader: entries each follower is behind the leader's last index.",
    labelNames: ["follower"],
    collect() {
      this.reset();
      const last = cluster.status().lastIndex;
      for (const follower of cluster.followers()) {
        this.set({ follower: follower.id }, Math.max(0, last - follower.match));
      }
    },
  });
  metrics.gauge({
    name: "strand_raft_members",
    help: "Members of the Raft configuration, by kind (voter, learner).",
    labelNames: ["kind"],
    collect() {
      const { voters, learners } = cluster.status().membership;
      this.set({ kind: "voter" }, voters.length);
      this.set({ kind: "learner" }, learners.length);
    },
  });
  metrics.gauge({
    name: "strand_raft_leader_changes",
    help: "Leader changes this node observed since start (elections that changed the leader).",
    collect() {
      this.set(cluster.stats.leaderChanges);
    },
  });
  metrics.gauge({
    name: "strand_cluster_membership_changes",
    help: "Configuration changes this node observed since start.",
    collect() {
      this.set(cluster.stats.membershipChanges);
    },
  });
  metrics.gauge({
    name: "strand_gossip_members",
    help: "Gossip members by state (alive, suspect, dead, left), this node included.",
    labelNames: ["state"],
    collect() {
      const counts: Record<string, number> = { alive: 0, suspect: 0, dead: 0, left: 0 };
      for (const member of cluster.gossipMembers()) {
        counts[member.status] = (counts[member.status] ?? 0) + 1;
      }
      for (const [state, count] of Object.entries(counts)) this.set({ state }, count);
    },
  });
}

/** Raft's and the peer transport's counters (they only grow while the process runs). */
function registerPeerMetrics(metrics: Metrics, cluster: Cluster): void {
  metrics.gauge({
    name: "strand_raft_node_events",
    help: "Raft node counters since start: dropped_messages (refused by the core), " +
      "send_errors, elections_started, unreachable_reports (peers the transport dropped " +
      "messages to; the leader re-probes them).",
    labelNames: ["event"],
    collect() {
      for (const [name, value] of Object.entries(cluster.raftStats())) {
        this.set({ event: snake(name) }, value);
      }
    },
  });
  metrics.gauge({
    name: "strand_raft_durability_synced",
    help: "1 when an acknowledged entry is fsynced on a quorum (--fsync always), 0 when only " +
      "written (a power loss on a quorum can lose acknowledged records).",
    collect() {
      this.set(cluster.status().durability === "fsync" ? 1 : 0);
    },
  });
  metrics.gauge({
    name: "strand_raft_peer_events",
    help: "Peer transport counters since start: frames_sent, frames_received, " +
      "dropped_messages, bad_frames (connections dropped for a damaged frame), bad_headers " +
      "(of those, a damaged frame header), handler_errors, identity_mismatches, " +
      "encode_errors, dial_failures, connects (dials and redials), write_timeouts.",
    labelNames: ["event"],
    collect() {
      for (const [name, value] of Object.entries(cluster.transportStats().counters)) {
        this.set({ event: snake(name) }, value);
      }
    },
  });
  metrics.gauge({
    name: "strand_raft_peer_queue_messages",
    help: "Raft frames queued for each peer and not yet written.",
    labelNames: ["peer"],
    collect() {
      this.reset();
      for (const queue of cluster.transportStats().queues) {
        this.set({ peer: queue.id }, queue.messages);
      }
    },
  });
  metrics.gauge({
    name: "strand_raft_peer_queue_bytes",
    help: "Bytes of Raft frames queued for each peer and not yet written.",
    labelNames: ["peer"],
    collect() {
      this.reset();
      for (const queue of cluster.transportStats().queues) {
        this.set({ peer: queue.id }, queue.bytes);
      }
    },
  });
}
