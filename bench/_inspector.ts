/**
 * A benchmark's handle on a node's V8 inspector (`deno run --inspect=127.0.0.1:PORT …`): a full
 * garbage collection on demand and the runtime's own memory figures, so a memory benchmark can
 * tell what the node holds from what the collector has not reclaimed yet. The shipped flags do
 * not expose `gc()`; the inspector changes nothing else in the node.
 * @module
 */

/** The node's own account of its memory (`Deno.memoryUsage()`), in bytes. */
export interface RuntimeMemory {
  rss: number;
  heapUsed: number;
  heapTotal: number;
  /** Memory of ArrayBuffers and other objects outside the V8 heap. */
  external: number;
}

/** A connected inspector session. */
export interface Inspector {
  /** Runs full garbage collections and waits for the freed ArrayBuffers to be counted. */
  collectGarbage(): Promise<void>;
  /** `Deno.memoryUsage()` of the node. */
  memory(): Promise<RuntimeMemory>;
  close(): void;
}

/** A free TCP port on 127.0.0.1 for `--inspect`. */
export function freeInspectorPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/** Connects to the inspector of the process listening on `port` (retries for 10 s). */
export async function connectInspector(port: number): Promise<Inspector> {
  let targets: { webSocketDebuggerUrl: string }[] = [];
  for (let attempt = 0; targets.length === 0; attempt++) {
    try {
      targets = await (await fetch(`http://127.0.0.1:${port}/json/list`)).json();
    } catch (error) {
      if (attempt >= 100) throw error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  const socket = new WebSocket(targets[0]!.webSocketDebuggerUrl);
  await new Promise((resolve, reject) => {
    socket.onopen = resolve;
    socket.onerror = reject;
  });
  let lastId = 0;
  const pending = new Map<number, (result: unknown) => void>();
  socket.onmessage = (event) => {
    const message = JSON.parse(event.data) as { id?: number; result?: unknown };
    if (message.id !== undefined) pending.get(message.id)?.(message.result);
    if (message.id !== undefined) pending.delete(message.id);
  };
  const call = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve) => {
      const id = ++lastId;
      pending.set(id, resolve);
      socket.send(JSON.stringify({ id, method, params }));
    });
  return {
    async collectGarbage() {
      // Twice, with a pause: V8 frees ArrayBuffer memory on a background thread after a GC.
      for (let i = 0; i < 2; i++) {
        await call("HeapProfiler.collectGarbage");
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    },
    async memory() {
      const result = await call("Runtime.evaluate", {
        expression: "JSON.stringify(Deno.memoryUsage())",
      }) as { result: { value: string } };
      return JSON.parse(result.result.value) as RuntimeMemory;
    },
    close: () => socket.close(),
  };
}
