/**
 * Safety invariants of the Raft simulation, checked continuously while it runs:
 * election safety (at most one leader per term), state-machine safety (every replica
 * applies the same entry — same term, records and offsets — at each index), dense offsets
 * per replica, leader completeness (a new leader holds every committed entry), and log
 * matching (same index and term implies the same prefix).
 * @module
 */

import type { Entry } from "../../../log/mod.ts";
import type { RaftCore } from "../../../raft/mod.ts";

const decoder = new TextDecoder();

/** What log matching reads of a node's log (a RaftCore, or a store's view). */
export interface LogView {
  firstIndex(): number;
  lastIndex(): number;
  termAt(index: number): number | null;
  entries(fromIndex: number, toIndex: number): Entry[];
}

/** A readable, comparable summary of an entry. */
export function signatureOf(entry: Entry): string {
  const values = entry.records.map((record) => decoder.decode(record)).join(",");
  return `${entry.term}/${entry.kind}/${entry.baseOffset}/${values}`;
}

/** Collects violations; the simulation stops at the first one. */
export class Checkers {
  readonly violations: string[] = [];
  readonly #leaders = new Map<number, string>();
  /** Applied (hence committed) entries by index. */
  readonly committed = new Map<number, string>();
  /** Record values of applied entries by index (the committed log, whatever was retained). */
  readonly committedValues = new Map<number, string[]>();
  /**
   * For each committed index: the term of the entry, and the term of the leader that first
   * committed it. Leader completeness binds leaders of later terms only: a stale candidate
   * may still win an older term after a newer leader committed (its votes were in flight).
   */
  readonly #commitTerms = new Map<number, { entryTerm: number; leaderTerm: number }>();
  #commitSeen = 0;

  #fail(nowMs: number, message: string): void {
    this.violations.push(`t=${nowMs}ms: ${message}`);
  }

  /** A node became leader of `term`. */
  onLeader(nowMs: number, id: string, term: number, core: RaftCore): void {
    const existing = this.#leaders.get(term);
    if (existing !== undefined && existing !== id) {
      this.#fail(nowMs, `two leaders in term ${term}: ${existing} and ${id}`);
    }
    this.#leaders.set(term, id);
    for (const [index, { entryTerm, leaderTerm }] of this.#commitTerms) {
      if (index < core.firstIndex() || leaderTerm >= term) continue;
      if (core.termAt(index) !== entryTerm) {
        this.#fail(
          nowMs,
          `leader ${id} (term ${term}) lacks index ${index} (term ${entryTerm}) committed in term ${leaderTerm}`,
        );
        return;
      }
    }
  }

  /** A leader's commit index moved: remember in which term each index got committed. */
  onLeaderCommit(term: number, core: RaftCore): void {
    const commit = core.status().commitIndex;
    for (let index = Math.max(this.#commitSeen + 1, core.firstIndex()); index <= commit; index++) {
      const entryTerm = core.termAt(index);
      if (entryTerm !== null) this.#commitTerms.set(index, { entryTerm, leaderTerm: term });
    }
    this.#commitSeen = Math.max(this.#commitSeen, commit);
  }

  /** A node applied `entry`; `expectedOffset` is where its previous entry ended, if known. */
  onApply(nowMs: number, id: string, entry: Entry, expectedOffset: number | null): void {
    const signature = signatureOf(entry);
    const existing = this.committed.get(entry.index);
    if (existing === undefined) {
      this.committed.set(entry.index, signature);
      this.committedValues.set(entry.index, entry.records.map((r) => decoder.decode(r)));
    } else if (existing !== signature) {
      this.#fail(nowMs, `${id} applied ${signature} at index ${entry.index}, others ${existing}`);
    }
    if (expectedOffset !== null && entry.baseOffset !== expectedOffset) {
      this.#fail(
        nowMs,
        `${id} applied index ${entry.index} at offset ${entry.baseOffset}, expected ${expectedOffset}`,
      );
    }
  }

  /** Log matching across every pair of running nodes. */
  checkLogMatching(nowMs: number, cores: readonly (readonly [string, LogView])[]): void {
    for (let i = 0; i < cores.length; i++) {
      for (let j = i + 1; j < cores.length; j++) {
        const [idA, a] = cores[i] as [string, LogView];
        const [idB, b] = cores[j] as [string, LogView];
        const problem = compareLogs(a, b);
        if (problem !== null) this.#fail(nowMs, `log matching ${idA}/${idB}: ${problem}`);
      }
    }
  }
}

/** Finds the highest index where both logs have the same term; below it all must agree. */
function compareLogs(a: LogView, b: LogView): string | null {
  const low = Math.max(a.firstIndex(), b.firstIndex());
  let index = Math.min(a.lastIndex(), b.lastIndex());
  while (index >= low && a.termAt(index) !== b.termAt(index)) index--;
  if (index < low) return null;
  const left = a.entries(low, index + 1);
  const right = b.entries(low, index + 1);
  for (let k = 0; k < left.length; k++) {
    const x = signatureOf(left[k] as Entry);
    const y = signatureOf(right[k] as Entry);
    if (x !== y) return `index ${low + k} differs (${x} vs ${y}) below matching index ${index}`;
  }
  return null;
}
