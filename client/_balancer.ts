/**
 * The `strand_leader` load-balancing policy: one connection per member (kept across
 * re-resolutions of the same address), a {@linkcode StrandPicker} over them, and the leader
 * learnt from the resolver or, sooner, from a failed call's `strand-leader-addr` trailer.
 * @module
 */
import {
  type ChannelOptions,
  connectivityState,
  experimental,
  type Metadata,
  status,
} from "@grpc/grpc-js";
import { type Cursor, type PickChild, StrandPicker } from "./_picker.ts";
import { BALANCER_NAME, type Member, MEMBERS_KEY } from "./_resolver.ts";
import { joinAddress } from "./_target.ts";

/** Trailing metadata naming the leader's RPC address (set by servers on retryable failures). */
export const LEADER_ADDR_METADATA = "strand-leader-addr";

class StrandBalancerConfig implements experimental.TypedLoadBalancingConfig {
  getLoadBalancerName(): string {
    return BALANCER_NAME;
  }
  toJsonObject(): object {
    return { [BALANCER_NAME]: {} };
  }
  static createFromJson(_json: unknown): StrandBalancerConfig {
    return new StrandBalancerConfig();
  }
}

interface Child {
  readonly leaf: experimental.LeafLoadBalancer;
  readonly addr: string;
}

function addressOf(endpoint: experimental.Endpoint): string | null {
  const first = endpoint.addresses[0];
  if (first === undefined || !("host" in first)) return null;
  return joinAddress(first);
}

/** Channel options without the resolver's attributes (they would split the subchannel pool). */
function leafOptions(options: ChannelOptions): ChannelOptions {
  const prefix = experimental.SUBCHANNEL_ARGS_EXCLUDE_KEY_PREFIX;
  return Object.fromEntries(
    Object.entries(options).filter(([key]) =>
      !key.startsWith(prefix) && key !== experimental.CHANNEL_ARGS_CONFIG_SELECTOR_KEY
    ),
  );
}

class StrandBalancer implements experimental.LoadBalancer {
  readonly #helper: experimental.ChannelControlHelper;
  readonly #childHelper: experimental.ChannelControlHelper;
  readonly #children = new Map<string, Child>();
  readonly #cursor: Cursor = { next: 0 };
  #leaderAddr: string | null = null;
  #paused = false;
  #leaderWasReady = false;

  constructor(helper: experimental.ChannelControlHelper) {
    this.#helper = helper;
    this.#childHelper = experimental.createChildChannelControlHelper(helper, {
      updateState: () => this.#update(),
    });
  }

  updateAddressList(
    endpoints: experimental.StatusOr<experimental.Endpoint[]>,
    _config: experimental.TypedLoadBalancingConfig,
    options: ChannelOptions,
    note: string,
  ): boolean {
    if (!endpoints.ok) {
      if (this.#children.size === 0) {
        this.#helper.updateState(
          connectivityState.TRANSIENT_FAILURE,
          new experimental.UnavailablePicker(endpoints.error),
          endpoints.error.details,
        );
      }
      return true;
    }
    const members = (options[MEMBERS_KEY] as Member[] | undefined) ?? [];
    const wanted = new Set<string>();
    this.#paused = true;
    for (const endpoint of endpoints.value) {
      const addr = addressOf(endpoint);
      if (addr === null || wanted.has(addr)) continue;
      wanted.add(addr);
      if (this.#children.has(addr)) continue;
      const leaf = new experimental.LeafLoadBalancer(
        endpoint,
        this.#childHelper,
        leafOptions(options),
        note,
      );
      this.#children.set(addr, { leaf, addr });
      leaf.startConnecting();
    }
    for (const [addr, child] of this.#children) {
      if (!wanted.has(addr)) {
        child.leaf.destroy();
        this.#children.delete(addr);
      }
    }
    this.#leaderAddr = members.find((member) => member.isLeader)?.addr ?? null;
    this.#paused = false;
    this.#update();
    return true;
  }

  /** A failed call: resolve again; a leader named in its trailers is used at once. */
  #callEnded(code: status, metadata: Metadata): void {
    if (code !== status.UNAVAILABLE) return;
    const named = metadata.get(LEADER_ADDR_METADATA)[0];
    if (typeof named === "string" && named !== this.#leaderAddr && this.#children.has(named)) {
      this.#leaderAddr = named;
      this.#update();
    }
    this.#helper.requestReresolution();
  }

  #update(): void {
    if (this.#paused) return;
    const children: PickChild[] = [...this.#children.values()].map((child) => ({
      addr: child.addr,
      isLeader: child.addr === this.#leaderAddr,
      state: child.leaf.getConnectivityState(),
      picker: child.leaf.getPicker(),
    }));
    const states = new Set(children.map((child) => child.state));
    const state = states.has(connectivityState.READY)
      ? connectivityState.READY
      : states.has(connectivityState.CONNECTING)
      ? connectivityState.CONNECTING
      : states.has(connectivityState.TRANSIENT_FAILURE)
      ? connectivityState.TRANSIENT_FAILURE
      : connectivityState.IDLE;
    // A leader that stops being reachable has likely lost its role: ask who leads now.
    const leaderReady = children.some((child) =>
      child.isLeader && child.state === connectivityState.READY
    );
    if (this.#leaderWasReady && !leaderReady) this.#helper.requestReresolution();
    this.#leaderWasReady = leaderReady;
    const picker = new StrandPicker(
      children,
      this.#cursor,
      (code, md) => this.#callEnded(code, md),
      () => this.#helper.requestReresolution(),
    );
    this.#helper.updateState(
      state,
      picker,
      state === connectivityState.TRANSIENT_FAILURE ? "no server reachable" : null,
    );
    // Keep every member connected, so a failover or a follower read finds a ready connection.
    for (const child of this.#children.values()) {
      if (child.leaf.getConnectivityState() === connectivityState.IDLE) child.leaf.exitIdle();
    }
  }

  exitIdle(): void {
    for (const child of this.#children.values()) child.leaf.exitIdle();
  }

  resetBackoff(): void {}

  destroy(): void {
    for (const child of this.#children.values()) child.leaf.destroy();
    this.#children.clear();
  }

  getTypeName(): string {
    return BALANCER_NAME;
  }
}

let registered = false;

/** Registers the `strand_leader` policy with grpc-js (once per process). */
export function registerStrandBalancer(): void {
  if (registered) return;
  experimental.registerLoadBalancerType(BALANCER_NAME, StrandBalancer, StrandBalancerConfig);
  registered = true;
}
