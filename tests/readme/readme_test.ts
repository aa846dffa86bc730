/**
 * The README's commands, run as written: the quick start's client commands against a node
 * started as `deno task start` starts it, the book's three `serve` commands, and
 * `deno task cluster` stopped by Ctrl-C. The commands are read from README.md itself, so an
 * edit there that breaks them fails here. Only the ports are moved to free ones (the README's
 * fixed ports would collide with other tests running in parallel).
 */
import { assert, assertEquals } from "../server/_assert.ts";
import { until } from "../e2e/_cluster.ts";
import { servePermissions, startNode, tempDir } from "../e2e/_node.ts";
import { freePortLayout } from "../_ports.ts";

const root = new URL("../../", import.meta.url);
const mainPath = new URL("main.ts", root).pathname;
const readme = Deno.readTextFileSync(new URL("README.md", root));

/** The `sh` code blocks of the README section whose heading is `heading`. */
function shellBlocks(heading: string): string[][] {
  const start = readme.indexOf(`\n## ${heading}\n`);
  assert(start >= 0, `README has no "## ${heading}" section`);
  const end = readme.indexOf("\n## ", start + 1);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((match) =>
    (match[1] ?? "").split("\n").filter((line) => line.trim() !== "")
  );
}

/** A command line split into its command and its trailing `# comment`. */
function splitComment(line: string): { command: string; comment: string } {
  const hash = line.search(/\s#\s/);
  if (hash < 0) return { command: line.trim(), comment: "" };
  return { command: line.slice(0, hash).trim(), comment: line.slice(hash).replace(/^\s#\s/, "") };
}

/** Splits a shell command into words (single quotes only, as the README uses). */
function words(command: string): string[] {
  return [...command.matchAll(/'([^']*)'|(\S+)/g)].map((match) => match[1] ?? match[2] ?? "");
}

/** The offsets of the book's ports 84xx in the README (84x1, gossip, is UDP as well as TCP). */
const bookOffsets = [0, 1, 2, 10, 11, 12, 20, 21, 22];

/** A base port `b` with b+offset free for every book offset: the book's 84xx layout moved to b. */
async function freeLayout(): Promise<number> {
  return await freePortLayout(bookOffsets, { udp: true });
}

/** Rewrites the book's ports 84xx to base+xx. */
function movePorts(text: string, base: number): string {
  return text.replace(/\b84(\d\d)\b/g, (_, offset: string) => String(base + Number(offset)));
}

async function run(
  args: string[],
  options: { cwd?: string; env?: Record<string, string>; input?: string } = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  const child = new Deno.Command(Deno.execPath(), {
    args,
    cwd: options.cwd ?? root.pathname,
    env: options.env ?? {},
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(options.input ?? ""));
  await writer.close();
  const { code, stdout, stderr } = await child.output();
  const decoder = new TextDecoder();
  return { code, stdout: decoder.decode(stdout), stderr: decoder.decode(stderr) };
}

/** The README's alias: `strand` is `deno run -A main.ts`. */
const strand = (args: string[], options: Parameters<typeof run>[1] = {}) =>
  run(["run", "-A", mainPath, ...args], options);

/** What each quick-start client command must print (its README comment, made checkable). */
const quickStartChecks: Record<string, (stdout: string) => void> = {
  "strand produce hello world": (out) => assertEquals(out.trim().split("\n"), ["0", "1"]),
  "printf 'a\\nb\\n' | strand produce": (out) => assertEquals(out.trim().split("\n"), ["2", "3"]),
  "strand consume --from 0": (out) =>
    assertEquals(out.trim().split("\n"), ["hello", "world", "a", "b"]),
  "strand servers": (out) => {
    const lines = out.trim().split("\n");
    assertEquals(lines.length, 1, out);
    assert(/\tleader$/.test(lines[0] ?? ""), out);
  },
};

/** What each operator command of the cluster section must do on the book's three nodes. */
const operatorChecks: Record<
  string,
  (result: { code: number; stdout: string; stderr: string }) => void
> = {
  "strand status --addr 127.0.0.1:8400": ({ code, stdout, stderr }) => {
    assertEquals(code, 0, stderr);
    assert(/^Leader: n\d \(127\.0\.0\.1:\d+\)\s+Term: \d+/.test(stdout), stdout);
    for (const name of ["n1", "n2", "n3"]) assert(new RegExp(`\\n${name} `).test(stdout), stdout);
  },
  "strand servers --addr 127.0.0.1:8400,127.0.0.1:8410 --output json": ({ code, stdout }) => {
    assertEquals(code, 0);
    const servers = JSON.parse(stdout) as { id: string; isLeader: boolean }[];
    assertEquals(servers.map((server) => server.id).sort(), ["n1", "n2", "n3"]);
    assertEquals(servers.filter((server) => server.isLeader).length, 1);
  },
  "strand transfer-leadership --to n2": ({ code, stderr }) => assertEquals(code, 0, stderr),
  // n3 is alive here: the README says removal refuses a live member and says what to do.
  "strand remove-member n3": ({ code, stderr }) => {
    assertEquals(code, 1);
    assert(/alive/.test(stderr) && /stop it/.test(stderr), stderr);
  },
};

Deno.test("README quick start: the client commands print what their comments say", async () => {
  await using dir = await tempDir();
  const node = await startNode(`${dir.path}/data`);
  try {
    const [, clientBlock] = shellBlocks("Quick start");
    assert(clientBlock !== undefined, "the quick start has a block of client commands");
    const env = { STRAND_ADDR: node.rpcAddr };
    const httpBase = node.httpUrl.replace(/\/$/, "");
    let ran = 0;
    for (const line of clientBlock) {
      const { command, comment } = splitComment(line);
      if (command.startsWith("curl ")) {
        // curl → fetch, with the README's localhost:8402 moved to the node's HTTP port.
        const argv = words(command).slice(1).filter((word) => word !== "-s");
        const method = argv.find((word) => word.startsWith("-X"))?.slice(2) ?? "GET";
        const body = argv.includes("-d") ? argv[argv.indexOf("-d") + 1] : undefined;
        const target = argv.find((word) => word.startsWith("localhost:"));
        assert(target !== undefined, `cannot read the address of: ${command}`);
        const url = target.replace(/^localhost:\d+/, httpBase);
        const response = await fetch(url, body === undefined ? { method } : { method, body });
        const answer = await response.json();
        assertEquals(response.status, 200, JSON.stringify(answer));
        // The comment is the answer with "…" for values that vary: every field it names matches.
        const expected = JSON.parse(comment.replace(/:…/g, ":null"));
        for (const [key, value] of Object.entries(expected)) {
          if (value !== null) assertEquals(answer[key], value, `${command}: field ${key}`);
          else assert(key in answer, `${command}: no field ${key}`);
        }
      } else if (command.includes("--follow")) {
        // A tail: read the four records already written, then stop it as a user would.
        const child = new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", mainPath, ...words(command).slice(1)],
          cwd: root.pathname,
          env,
          stdout: "piped",
          stderr: "null",
          stdin: "null",
        }).spawn();
        const lines: unknown[] = [];
        let pending = "";
        for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
          pending += chunk;
          const complete = pending.split("\n");
          pending = complete.pop() ?? "";
          lines.push(...complete.map((text) => JSON.parse(text)));
          if (lines.length >= 4) break;
        }
        child.kill("SIGINT");
        await child.status;
        assertEquals(lines.map((line) => (line as { offset: number }).offset), [0, 1, 2, 3]);
        for (const line of lines) assert(typeof (line as { term: unknown }).term === "number");
      } else {
        const check = quickStartChecks[command];
        assert(check !== undefined, `the test does not know what to expect of: ${command}`);
        const pipe = /^printf '(.*)' \| (strand .*)$/.exec(command);
        const input = pipe ? (pipe[1] ?? "").replaceAll("\\n", "\n") : "";
        const argv = words(pipe ? pipe[2] ?? "" : command).slice(1);
        const result = await strand(argv, { env, input });
        assertEquals(result.code, 0, `${command}\n${result.stderr}`);
        check(result.stdout);
      }
      ran++;
    }
    assertEquals(ran, clientBlock.length);
  } finally {
    await node.stop();
  }
});

Deno.test("README cluster: the book's three serve commands give three servers, one leader", async () => {
  await using dir = await tempDir();
  const [block] = shellBlocks("A three-node cluster");
  assert(block !== undefined, "the cluster section has a block of commands");
  const base = await freeLayout();
  const serveLines = block.map((line) => splitComment(line).command)
    .filter((command) => command.startsWith("strand serve "));
  assertEquals(serveLines.length, 3, block.join("\n"));
  const serversLine = block.map((line) => splitComment(line).command)
    .find((command) => command.startsWith("strand servers "));
  assert(serversLine !== undefined, "the block lists the servers");

  // Each node exactly as `deno task start` runs it, from a working directory of its own
  // (the commands' data dirs d1..d3 are relative).
  const nodes = serveLines.map((line) => {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        ...servePermissions(dir.path),
        mainPath,
        ...words(movePorts(line, base)).slice(1),
      ],
      cwd: dir.path,
      stdin: "null",
      stdout: "null",
      stderr: "piped",
    }).spawn();
    let stderr = "";
    const drained = (async () => {
      for await (const chunk of child.stderr.pipeThrough(new TextDecoderStream())) stderr += chunk;
    })();
    return { child, stderr: () => stderr, drained };
  });
  try {
    const argv = words(movePorts(serversLine, base)).slice(1);
    const lines = await until(
      () => `three servers and one leader (${nodes.map((node) => node.stderr()).join("\n")})`,
      async () => {
        const result = await strand(argv);
        if (result.code !== 0) return null;
        const servers = result.stdout.trim().split("\n");
        const leaders = servers.filter((server) => server.endsWith("\tleader"));
        return servers.length === 3 && leaders.length === 1 ? servers : null;
      },
      60_000,
      200,
    );
    assertEquals(lines.map((server) => server.split("\t")[0]).sort(), ["n1", "n2", "n3"]);
    for (const [i, server] of lines.entries()) {
      assert(/^n\d\t127\.0\.0\.1:\d+\t(leader|follower)$/.test(server), `line ${i}: ${server}`);
    }

    // "Operating a cluster": each command as written, against this cluster.
    const [, operating] = shellBlocks("A three-node cluster");
    assert(operating !== undefined, "the cluster section has a block of operator commands");
    for (const line of operating) {
      const { command } = splitComment(line);
      const argv = words(movePorts(command, base)).slice(1);
      if (argv.includes("--watch")) continue; // runs until Ctrl-C; covered by tests/e2e/status_watch_test.ts
      const check = operatorChecks[command];
      assert(check !== undefined, `the test does not know what to expect of: ${command}`);
      // Operator commands go to the first member unless they name one (as a user's STRAND_ADDR).
      const env = { STRAND_ADDR: `127.0.0.1:${base}` };
      const result = await strand(argv, { env });
      check(result);
    }
  } finally {
    for (const node of nodes) {
      try {
        node.child.kill("SIGTERM");
      } catch { /* already gone */ }
    }
    const codes = await Promise.all(nodes.map(async (node) => {
      const status = await node.child.status;
      await node.drained;
      return status.code;
    }));
    assertEquals(codes, [0, 0, 0], nodes.map((node) => node.stderr()).join("\n"));
  }
});

Deno.test("README cluster: `deno task cluster` starts three nodes and Ctrl-C stops them all", async () => {
  assert(/`deno task cluster`/.test(readme), "the README names deno task cluster");
  const base = await freeLayout();
  // The task's own command line (from deno.json), in a copy of the repository's layout: its
  // write permission is ./data, so it runs from the repository root with a data dir below it.
  const dataDir = `./data/readme-cluster-${Deno.pid}-${base}`;
  const child = new Deno.Command("setsid", {
    args: [Deno.execPath(), "task", "cluster", "--data-dir", dataDir, "--base-port", String(base)],
    cwd: root.pathname,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let output = "";
  const drained = Promise.all([child.stdout, child.stderr].map(async (stream) => {
    for await (const chunk of stream.pipeThrough(new TextDecoderStream())) output += chunk;
  }));
  try {
    await until(
      () => `three nodes serving:\n${output}`,
      async () => {
        const result = await strand(["servers", "--addr", `127.0.0.1:${base + 10}`]);
        const servers = result.stdout.trim().split("\n");
        return result.code === 0 && servers.length === 3 &&
          servers.filter((server) => server.endsWith("\tleader")).length === 1;
      },
      60_000,
      200,
    );
    for (const name of ["n1", "n2", "n3"]) {
      assert(output.includes(`  ${name}  gRPC 127.0.0.1:`), `addresses of ${name}:\n${output}`);
    }
  } finally {
    // Ctrl-C in a terminal signals the whole foreground process group; setsid made one.
    Deno.kill(-child.pid, "SIGINT");
    const status = await child.status;
    await drained;
    await Deno.remove(new URL(dataDir, root), { recursive: true }).catch(() => {});
    assertEquals(status.code, 0, output);
    assert(output.includes("strand cluster: all stopped\n"), output);
    assert(!output.includes("with an error"), output);
  }
});
