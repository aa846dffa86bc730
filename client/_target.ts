/**
 * Target strings of the cluster client: `strand://host:port,host:port`, `strand:///host:port`,
 * or a bare `host:port[,host:port…]`.
 * @module
 */

/** The URI scheme the resolver answers to. */
export const STRAND_SCHEME = "strand";

/** A target that names no usable address. */
export class TargetError extends Error {
  /** Always "INVALID_TARGET". */
  readonly code = "INVALID_TARGET";
  constructor(message: string) {
    super(message);
    this.name = "TargetError";
  }
}

/** One "host:port" split (IPv6 hosts without their brackets). */
export interface HostPort {
  readonly host: string;
  readonly port: number;
}

/** Splits "host:port" or "[v6]:port"; throws {@linkcode TargetError} when it is neither. */
export function splitAddress(address: string): HostPort {
  const match = /^\[([^\]]+)\]:(\d+)$/.exec(address) ?? /^([^:\[\]]+):(\d+)$/.exec(address);
  const port = Number(match?.[2]);
  if (match === null || !Number.isInteger(port) || port < 1 || port > 65535) {
    throw new TargetError(
      `Cannot use "${address}" as a server address: expected host:port, e.g. localhost:8400`,
    );
  }
  return { host: match[1]!, port };
}

/** "host:port", bracketing an IPv6 host. */
export function joinAddress({ host, port }: HostPort): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * The addresses a target lists, in order, without duplicates: "strand://a:1,b:2",
 * "strand:///a:1" and "a:1,b:2" all work; a URI path as grpc-js parses it ("//a:1,b:2") too.
 */
export function targetAddresses(target: string): string[] {
  const withoutScheme = target.startsWith(`${STRAND_SCHEME}:`)
    ? target.slice(STRAND_SCHEME.length + 1)
    : target;
  const list = withoutScheme.replace(/^\/+/, "").replace(/\/+$/, "");
  const addresses = list.split(",").map((part) => part.trim()).filter((part) => part !== "");
  if (addresses.length === 0) {
    throw new TargetError(
      `Cannot use "${target}" as a target: it names no server; expected ` +
        `strand://host:port[,host:port…]`,
    );
  }
  const seen = new Set<string>();
  for (const address of addresses) seen.add(joinAddress(splitAddress(address)));
  return [...seen];
}

/** The grpc-js target string for `target` (a bare address list gets the strand scheme). */
export function toStrandUri(target: string): string {
  return `${STRAND_SCHEME}:///${targetAddresses(target).join(",")}`;
}
