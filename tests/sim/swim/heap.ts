/** A binary min-heap ordered by `atMs`, then by insertion, so equal times replay exactly. */

export interface Timed {
  readonly atMs: number;
}

interface Slot<T> {
  readonly item: T;
  readonly atMs: number;
  readonly order: number;
}

/** Min-heap of timed items; ties keep insertion order (determinism). */
export class TimeHeap<T extends Timed> {
  readonly #slots: Slot<T>[] = [];
  #order = 0;

  get size(): number {
    return this.#slots.length;
  }

  push(item: T): void {
    this.#slots.push({ item, atMs: item.atMs, order: this.#order++ });
    let i = this.#slots.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.#less(i, parent)) break;
      this.#swap(i, parent);
      i = parent;
    }
  }

  /** The earliest item's time, or Infinity when empty. */
  peekMs(): number {
    return this.#slots[0]?.atMs ?? Infinity;
  }

  pop(): T | undefined {
    const top = this.#slots[0];
    if (top === undefined) return undefined;
    const last = this.#slots.pop() as Slot<T>;
    if (this.#slots.length > 0) {
      this.#slots[0] = last;
      this.#siftDown(0);
    }
    return top.item;
  }

  #siftDown(start: number): void {
    let i = start;
    const length = this.#slots.length;
    for (;;) {
      const left = 2 * i + 1;
      const right = left + 1;
      let smallest = i;
      if (left < length && this.#less(left, smallest)) smallest = left;
      if (right < length && this.#less(right, smallest)) smallest = right;
      if (smallest === i) return;
      this.#swap(i, smallest);
      i = smallest;
    }
  }

  #less(a: number, b: number): boolean {
    const x = this.#slots[a] as Slot<T>;
    const y = this.#slots[b] as Slot<T>;
    return x.atMs < y.atMs || (x.atMs === y.atMs && x.order < y.order);
  }

  #swap(a: number, b: number): void {
    const x = this.#slots[a] as Slot<T>;
    this.#slots[a] = this.#slots[b] as Slot<T>;
    this.#slots[b] = x;
  }
}
