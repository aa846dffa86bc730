/**
 * `deno task cluster`: three local nodes in one terminal, as the book starts them (n1 with
 * `--bootstrap`, n2 and n3 joining it), each run exactly as `deno task start` runs a node.
 * Prints their addresses; Ctrl-C stops all three gracefully and waits for them.
 *
 * `deno task cluster [--data-dir DIR] [--base-port N] [extra serve flags...]` (default DIR
 * ./data/cluster, N 8400: node i listens on N+10i for gRPC, N+10i+1 for gossip, N+10i+2 for HTTP)
 * @module
 */
import { taskFlags } from "../bench/_shipped_runtime.ts";

const mainPath = new URL("../main.ts", import.meta.url).pathname;
const args = [...Deno.args];
const dirFlag = args.indexOf("--data-dir");
const base = dirFlag >= 0 ? args.splice(dirFlag, 2)[1] ?? "./data/cluster" : "./data/cluster";
const portFlag = args.indexOf("--base-port");
const basePort = portFlag >= 0 ? Number(args.splice(portFlag, 2)[1]) : 8400;
if (!Number.isInteger(basePort) || basePort < 1 || basePort > 65535 - 22) {
  console.error("strand cluster: --base-port needs a port number from 1 to 65513");
  Deno.exit(2);
}
const flags = taskFlags("start").filter((flag) => flag !== "--no-prompt");

/** The book's layout: node i listens on 84i0 (gRPC), 84i1 (gossip), 84i2 (HTTP). */
const nodes = [0, 1, 2].map((i) => ({
  name: `n${i + 1}`,
  rpc: basePort + 10 * i,
  gossip: basePort + 1 + 10 * i,
  http: basePort + 2 + 10 * i,
}));

function serveArgs(node: typeof nodes[number], first: boolean): string[] {
  return [
    "run",
    ...flags,
    mainPath,
    "serve",
    ...["--node-name", node.name, "--data-dir", `${base}/${node.name}`],
    ...["--bind-addr", `127.0.0.1:${node.gossip}`],
    ...["--rpc-port", String(node.rpc), "--http-port", String(node.http)],
    ...(first ? ["--bootstrap"] : ["--start-join-addrs", `127.0.0.1:${nodes[0]!.gossip}`]),
    "--log-format",
    "text",
    ...args,
  ];
}

/** Nodes that said they are shutting down (a terminal's Ctrl-C reaches every process). */
const stopping = new Set<string>();

async function prefixLines(stream: ReadableStream<Uint8Array>, prefix: string): Promise<void> {
  let pending = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    pending += chunk;
    const lines = pending.split("\n");
    pending = lines.pop() ?? "";
    for (const line of lines) {
      if (line.includes("received, shutting down")) stopping.add(prefix);
      console.log(`${prefix} ${line}`);
    }
  }
  if (pending !== "") console.log(`${prefix} ${pending}`);
}

const children = nodes.map((node, i) => {
  Deno.mkdirSync(`${base}/${node.name}`, { recursive: true });
  const child = new Deno.Command(Deno.execPath(), {
    args: serveArgs(node, i === 0),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = Promise.all([
    prefixLines(child.stdout, `[${node.name}]`),
    prefixLines(child.stderr, `[${node.name}]`),
  ]);
  return { node, child, done: child.status.then(async (status) => (await output, status)) };
});

console.log("strand cluster: three nodes (Ctrl-C stops all of them)");
for (const { node } of nodes.map((node) => ({ node }))) {
  console.log(
    `  ${node.name}  gRPC 127.0.0.1:${node.rpc}  HTTP http://127.0.0.1:${node.http}  gossip 127.0.0.1:${node.gossip}  data ${base}/${node.name}`,
  );
}
console.log(`  try: deno run -A main.ts servers --addr 127.0.0.1:${nodes[1]!.rpc}`);

let stopRequested = false;
const stop = () => {
  if (stopRequested) return;
  stopRequested = true;
  console.log("strand cluster: stopping all nodes");
  // Signal only the nodes the same Ctrl-C did not reach: a second signal would cut a node's
  // graceful stop short.
  setTimeout(() => {
    for (const { node, child } of children) {
      if (stopping.has(`[${node.name}]`)) continue;
      try {
        child.kill("SIGTERM");
      } catch {
        // already exited
      }
    }
  }, 500);
};
Deno.addSignalListener("SIGINT", stop);
Deno.addSignalListener("SIGTERM", stop);
const statuses = await Promise.all(children.map((entry) => entry.done));
Deno.removeSignalListener("SIGINT", stop);
Deno.removeSignalListener("SIGTERM", stop);
const failed = statuses.filter((status) => status.code !== 0).length;
console.log(`strand cluster: all stopped${failed > 0 ? ` (${failed} with an error)` : ""}`);
Deno.exit(failed > 0 ? 1 : 0);
