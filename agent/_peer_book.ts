/**
 * The members this node has heard of, with their gossip, RPC and Raft addresses, kept in the
 * data directory: a node restarted without join addresses (the bootstrap node) finds the
 * others again through the gossip addresses it remembers.
 * @module
 */

/** Where one member is reached. */
export interface PeerAddresses {
  readonly gossip: string;
  readonly rpc: string;
  readonly raft: string;
}

/** Remembered members, saved (atomically, off the request path) when they change. */
export class PeerBook {
  readonly #path: string;
  readonly #self: string;
  readonly #peers: Map<string, PeerAddresses>;
  #saving: Promise<void> = Promise.resolve();
  #dirty = false;

  private constructor(path: string, self: string, peers: Map<string, PeerAddresses>) {
    this.#path = path;
    this.#self = self;
    this.#peers = peers;
  }

  /** Loads the book at `path` (a missing or unreadable file is an empty book). */
  static async open(path: string, self: string): Promise<PeerBook> {
    const peers = new Map<string, PeerAddresses>();
    try {
      const raw = JSON.parse(await Deno.readTextFile(path)) as Record<string, PeerAddresses>;
      for (const [name, addresses] of Object.entries(raw)) {
        if (name !== self && typeof addresses?.gossip === "string") {
          // RPC and Raft ports may have changed since: only gossip finds the member again.
          peers.set(name, { gossip: addresses.gossip, rpc: "", raft: "" });
        }
      }
    } catch {
      // First start, or a damaged file: gossip rebuilds the book.
    }
    return new PeerBook(path, self, peers);
  }

  /** The addresses of `name`, if known. */
  get(name: string): PeerAddresses | undefined {
    return this.#peers.get(name);
  }

  /** Gossip addresses of every remembered member. */
  gossipAddresses(): string[] {
    return [...this.#peers.values()].map((peer) => peer.gossip).filter((a) => a !== "");
  }

  /** Records `name`'s addresses; saves when they changed. */
  set(name: string, addresses: PeerAddresses): void {
    if (name === this.#self) return;
    const known = this.#peers.get(name);
    if (
      known?.gossip === addresses.gossip && known.rpc === addresses.rpc &&
      known.raft === addresses.raft
    ) return;
    this.#peers.set(name, addresses);
    this.#save();
  }

  #save(): void {
    if (this.#dirty) return;
    this.#dirty = true;
    this.#saving = this.#saving.then(async () => {
      this.#dirty = false;
      const text = JSON.stringify(Object.fromEntries(this.#peers));
      const temp = `${this.#path}.tmp`;
      try {
        await Deno.writeTextFile(temp, text);
        await Deno.rename(temp, this.#path);
      } catch {
        // Losing the book only costs a rejoin through --start-join-addrs.
      }
    });
  }

  /** Waits for a save in progress. */
  flush(): Promise<void> {
    return this.#saving;
  }
}
