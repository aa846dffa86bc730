/** Drives `fixtures/gossip_node.ts` as a real child process and reads its JSON facts. */

export type Fact = Record<string, unknown> & { event: string };

const fixture = new URL("./fixtures/gossip_node.ts", import.meta.url).pathname;

/** One gossip node running in its own process. */
export class NodeProcess {
  readonly name: string;
  readonly facts: Fact[] = [];
  readonly #child: Deno.ChildProcess;
  readonly #stdin: WritableStreamDefaultWriter<Uint8Array>;
  readonly #reading: Promise<void>;
  #notify: (() => void) | null = null;
  #exited = false;

  /** `fdLimit` runs the node under `ulimit -n fdLimit` (through bash). */
  constructor(name: string, args: readonly string[], fdLimit?: number) {
    this.name = name;
    const deno = [Deno.execPath(), "run", "-A", fixture, "--name", name, ...args];
    const command = fdLimit === undefined
      ? { program: Deno.execPath(), args: deno.slice(1) }
      : { program: "bash", args: ["-c", `ulimit -n ${fdLimit} && exec "$@"`, "bash", ...deno] };
    this.#child = new Deno.Command(command.program, {
      args: command.args,
      stdin: "piped",
      stdout: "piped",
      stderr: "inherit",
    }).spawn();
    this.#stdin = this.#child.stdin.getWriter();
    this.#reading = this.#read();
  }

  async #read(): Promise<void> {
    const decoder = new TextDecoder();
    let pending = "";
    for await (const chunk of this.#child.stdout) {
      pending += decoder.decode(chunk, { stream: true });
      let newline = pending.indexOf("\n");
      while (newline >= 0) {
        const line = pending.slice(0, newline);
        pending = pending.slice(newline + 1);
        newline = pending.indexOf("\n");
        if (line.startsWith("{")) this.facts.push(JSON.parse(line) as Fact);
      }
      this.#notify?.();
    }
    this.#exited = true;
    this.#notify?.();
  }

  /** Waits for the first fact matching `match` (already seen or coming), with a deadline. */
  async waitFor(what: string, match: (fact: Fact) => boolean, timeoutMs = 30_000): Promise<Fact> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const found = this.facts.find(match);
      if (found !== undefined) return found;
      const leftMs = deadline - performance.now();
      if (leftMs <= 0 || this.#exited) {
        throw new Error(
          `${this.name}: timed out waiting for ${what}; saw ${
            JSON.stringify(this.facts.slice(-5))
          }`,
        );
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((resolve) => {
        this.#notify = resolve;
        timer = setTimeout(resolve, leftMs);
      });
      clearTimeout(timer);
      this.#notify = null;
    }
  }

  async send(command: Record<string, unknown>): Promise<void> {
    await this.#stdin.write(new TextEncoder().encode(JSON.stringify(command) + "\n"));
  }

  /** SIGKILL: no leave, no goodbye. */
  async kill(): Promise<void> {
    this.#child.kill("SIGKILL");
    await this.#child.status;
    await this.#reading;
    await this.#stdin.close().catch(() => {});
  }

  /** Graceful stop: closing stdin makes the node close its sockets and exit. */
  async stop(): Promise<void> {
    await this.#stdin.close().catch(() => {});
    await this.#child.status;
    await this.#reading;
  }
}

/** Starts a node and waits until it has bound its address. */
export async function startNode(
  name: string,
  args: readonly string[],
  fdLimit?: number,
): Promise<{ node: NodeProcess; address: string }> {
  const node = new NodeProcess(name, args, fdLimit);
  const ready = await node.waitFor("ready", (fact) => fact.event === "ready");
  return { node, address: ready.address as string };
}
