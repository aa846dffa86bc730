/**
 * `strand status --watch`: one JSON document per refresh; a refresh that fails (the node went
 * away) is reported on stderr and the watch goes on; Ctrl-C (SIGINT) ends it with exit 0.
 */
import { assert, assertEquals } from "../server/_assert.ts";
import { until } from "./_cluster.ts";
import { startNode, tempDir } from "./_node.ts";

const mainPath = new URL("../../main.ts", import.meta.url).pathname;

Deno.test("strand status --watch refreshes, rides out a failed refresh, exits 0 on SIGINT", async () => {
  await using dir = await tempDir();
  const node = await startNode(dir.path, ["--node-name", "solo"]);
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", mainPath, "status", "--addr", node.rpcAddr, "--watch"]
      .concat(["--interval-s", "0.2", "--output", "json"]),
    stdout: "piped",
    stderr: "piped",
    stdin: "null",
  }).spawn();
  let out = "";
  let err = "";
  const drain = async (stream: ReadableStream<Uint8Array>, sink: (text: string) => void) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) sink(chunk);
  };
  const drained = Promise.all([
    drain(child.stdout, (text) => out += text),
    drain(child.stderr, (text) => err += text),
  ]);
  try {
    const lines = await until(
      "two refreshes",
      () => {
        const lines = out.split("\n").filter((line) => line !== "");
        return lines.length >= 2 ? lines : null;
      },
      20_000,
      50,
    );
    for (const line of lines.slice(0, 2)) {
      const view = JSON.parse(line) as { nodes: { name: string; role: string }[] };
      assertEquals(view.nodes.map((n) => [n.name, n.role]), [["solo", "leader"]]);
    }
    await node.stop("SIGKILL");
    await until("a failed refresh reported", () => err.includes("strand status: "), 20_000, 50);
    child.kill("SIGINT");
    const { code } = await child.status;
    await drained;
    assertEquals(code, 0, err);
    assert(err.includes(node.rpcAddr), err);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* exited */ }
    await node.stop("SIGKILL");
  }
});
