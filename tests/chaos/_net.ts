/**
 * Picks the chaos network: namespaces when the machine allows them, else the proxy fallback,
 * saying so (a run never passes quietly on a weaker network).
 * @module
 */
import type { ChaosNet } from "./_cluster.ts";
import { NetnsLab, netnsSupport } from "./_netns.ts";
import { ProxyNet } from "./_proxy_net.ts";

let warned = false;

/** A network of `size` nodes: namespaces, or loopback proxies when they are unavailable. */
export async function chaosNet(size: number): Promise<ChaosNet> {
  const unsupported = await netnsSupport();
  if (unsupported === null) return await NetnsLab.create(size);
  if (!warned) {
    console.log(
      `chaos: network namespaces unavailable (${unsupported}); falling back to fault-injecting proxies on loopback`,
    );
    warned = true;
  }
  return await ProxyNet.create(size);
}
