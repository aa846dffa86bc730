/**
 * Discrete-event scheduler in simulated milliseconds. Events at the same time run in the
 * order they were scheduled, so a run depends only on the seed.
 * @module
 */

import { setImmediate } from "node:timers";

/**
 * Resolves once every pending microtask (promise reaction) ran: an immediate is a macrotask,
 * and with no real IO or timers pending, nothing else can run before it. Async production
 * code (the driver awaiting its store, the transport's streams) settles fully between two
 * simulated events, in an order fixed by the seed.
 */
export function settle(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

interface Event {
  readonly atMs: number;
  readonly seq: number;
  readonly run: () => void;
}

/** A binary min-heap of events ordered by (time, insertion order). */
export class Scheduler {
  nowMs = 0;
  #heap: Event[] = [];
  #seq = 0;

  /** Runs `run` after `delayMs` of simulated time. */
  after(delayMs: number, run: () => void): void {
    this.#push({ atMs: this.nowMs + Math.max(0, delayMs), seq: this.#seq++, run });
  }

  /** Runs events until the queue is empty, time passes `untilMs`, or `eventsMax` ran. */
  runUntil(untilMs: number, eventsMax: number): number {
    let ran = 0;
    while (ran < eventsMax) {
      const next = this.#heap[0];
      if (next === undefined || next.atMs > untilMs) break;
      this.#pop();
      this.nowMs = next.atMs;
      next.run();
      ran++;
    }
    if (this.nowMs < untilMs && ran < eventsMax) this.nowMs = untilMs;
    return ran;
  }

  /**
   * Like {@linkcode runUntil} for async code under simulation: after each event, waits until
   * the promise reactions it started have run (see {@linkcode settle}); `afterEvent` runs
   * then (the simulator's invariant checks).
   */
  async runUntilSettled(
    untilMs: number,
    eventsMax: number,
    afterEvent: () => void,
  ): Promise<number> {
    let ran = 0;
    await settle();
    while (ran < eventsMax) {
      const next = this.#heap[0];
      if (next === undefined || next.atMs > untilMs) break;
      this.#pop();
      this.nowMs = next.atMs;
      next.run();
      ran++;
      await settle();
      afterEvent();
    }
    if (this.nowMs < untilMs && ran < eventsMax) this.nowMs = untilMs;
    return ran;
  }

  #less(a: Event, b: Event): boolean {
    return a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq);
  }

  #push(event: Event): void {
    const heap = this.#heap;
    heap.push(event);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(heap[i] as Event, heap[parent] as Event)) break;
      [heap[i], heap[parent]] = [heap[parent] as Event, heap[i] as Event];
      i = parent;
    }
  }

  #pop(): void {
    const heap = this.#heap;
    const last = heap.pop() as Event;
    if (heap.length === 0) return;
    heap[0] = last;
    let i = 0;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < heap.length && this.#less(heap[left] as Event, heap[smallest] as Event)) {
        smallest = left;
      }
      if (right < heap.length && this.#less(heap[right] as Event, heap[smallest] as Event)) {
        smallest = right;
      }
      if (smallest === i) return;
      [heap[i], heap[smallest]] = [heap[smallest] as Event, heap[i] as Event];
      i = smallest;
    }
  }
}
