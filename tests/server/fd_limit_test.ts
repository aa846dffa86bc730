// Running out of file descriptors must not take a port down: `serve` runs as shipped under
// `ulimit -n 256`, a client opens idle connections far past the limit to both ports, closes
// them, and both ports serve again. (On Deno 2.8.3 the runtime's own accept loops end for good
// at the first EMFILE; Strand owns its accept loops and caps connections below the limit.)
import { servePermissions } from "../e2e/_node.ts";
import { LogClient } from "../../client/mod.ts";
import { assertEquals } from "./_assert.ts";

const mainPath = new URL("../../main.ts", import.meta.url).pathname;
const descriptorLimit = 256;
const idleConnections = 400;

/** `statesLimit`: whether the node is told its limit (STRAND_FD_LIMIT), as the unit file does. */
async function startLimited(dataDir: string, statesLimit: boolean) {
  const command = new Deno.Command("bash", {
    args: [
      "-c",
      `ulimit -n ${descriptorLimit} && exec "$@"`,
      "bash",
      Deno.execPath(),
      "run",
      ...servePermissions(dataDir),
      mainPath,
      "serve",
      ...["--data-dir", dataDir, "--rpc-port", "0", "--http-port", "0"],
    ],
    env: statesLimit ? { STRAND_FD_LIMIT: String(descriptorLimit) } : {},
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  });
  const child = command.spawn();
  let text = "";
  let notify = () => {};
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
      text += chunk;
      notify();
    }
  };
  const drained = Promise.all([pump(child.stdout), pump(child.stderr)]);
  const waitFor = (pattern: RegExp, what: string) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no ${what} in 30 s:\n${text}`)), 30_000);
      notify = () => {
        const match = pattern.exec(text);
        if (match) {
          clearTimeout(timer);
          notify = () => {};
          resolve(match);
        }
      };
      notify();
    });
  const rpc = (await waitFor(/gRPC\s+(\S+)/, "gRPC address"))[1]!;
  const http = (await waitFor(/HTTP\s+(\S+)/, "HTTP address"))[1]!;
  return {
    rpc,
    http,
    output: () => text,
    waitFor,
    async stop() {
      child.kill("SIGTERM");
      await child.status;
      await drained;
    },
  };
}

/** Opens `count` idle TCP connections (some may be closed by the server at once). */
async function openIdle(address: string, count: number): Promise<Deno.TcpConn[]> {
  const url = new URL(address.includes("://") ? address : `tcp://${address}`);
  const conns: Deno.TcpConn[] = [];
  for (let i = 0; i < count; i++) {
    conns.push(await Deno.connect({ hostname: url.hostname, port: Number(url.port) }));
  }
  return conns;
}

async function portsSurvive(statesLimit: boolean, expectLog: RegExp): Promise<void> {
  const dataDir = await Deno.makeTempDir();
  const node = await startLimited(dataDir, statesLimit);
  try {
    const rpcConns = await openIdle(node.rpc, idleConnections);
    const httpConns = await openIdle(node.http, idleConnections);
    await node.waitFor(expectLog, "warning about the limit");
    for (const conn of [...rpcConns, ...httpConns]) conn.close();
    const client = new LogClient(node.rpc);
    try {
      assertEquals(await client.produce(new TextEncoder().encode("after the flood")), 0);
    } finally {
      client.close();
    }
    const response = await fetch(`${node.http}/v1/records/0`);
    assertEquals(response.status, 200, "the HTTP port serves again");
    await response.body?.cancel();
  } finally {
    await node.stop();
    await Deno.remove(dataDir, { recursive: true });
  }
}

Deno.test({
  name: "under ulimit -n 256, idle connections past the limit hit the cap, and both ports serve",
  sanitizeResources: false,
  fn: () => portsSurvive(true, /its cap/),
});

Deno.test({
  name: "without the limit known, the accept loop survives EMFILE and both ports serve",
  sanitizeResources: false,
  fn: () => portsSurvive(false, /cannot accept connections/),
});
