// Connection-level limits of the HTTP port: a connection that sends no request, or idles
// between keep-alive requests, is closed; one with a request in progress (a tail) is not.
import { Service, startHttpServer } from "../../server/mod.ts";
import { MemoryLog } from "./_memory_log.ts";
import { assertEquals, eventually } from "./_assert.ts";

async function startApi(connectionsMax = 100) {
  const log = new MemoryLog(1024);
  const service = new Service({ log });
  const api = await startHttpServer(service, {
    host: "127.0.0.1",
    port: 0,
    connectionsMax,
    firstRequestTimeoutMs: 200,
    idleTimeoutMs: 200,
  });
  service.setServing();
  return {
    api,
    log,
    async [Symbol.asyncDispose]() {
      service.beginShutdown();
      log.waiters.close();
      await api.close(1000);
    },
  };
}

async function readAll(conn: Deno.Conn): Promise<string> {
  let text = "";
  const buffer = new Uint8Array(4096);
  for (let i = 0; i < 1000; i++) {
    const n = await conn.read(buffer);
    if (n === null) return text;
    text += new TextDecoder().decode(buffer.subarray(0, n));
  }
  return text;
}

Deno.test("HTTP: a connection that sends no request is closed after the first-request timeout", async () => {
  await using node = await startApi();
  const silent = await Deno.connect({ hostname: "127.0.0.1", port: node.api.port });
  assertEquals(await readAll(silent), "", "closed without a word");
  silent.close();
  assertEquals(node.api.connections.handshakeTimeouts, 1);
});

Deno.test("HTTP: an idle keep-alive connection is closed, a tail in progress is not", async () => {
  await using node = await startApi();
  const idle = await Deno.connect({ hostname: "127.0.0.1", port: node.api.port });
  await idle.write(new TextEncoder().encode("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  const tail = await Deno.connect({ hostname: "127.0.0.1", port: node.api.port });
  await tail.write(
    new TextEncoder().encode("GET /v1/records?from=0&follow=true HTTP/1.1\r\nHost: x\r\n\r\n"),
  );
  const idleText = await readAll(idle); // answered, then closed once idle
  assertEquals(idleText.startsWith("HTTP/1.1 200"), true);
  idle.close();
  assertEquals(node.api.connections.idleClosed, 1, "only the idle connection");
  await node.log.append([new TextEncoder().encode("late")]);
  const buffer = new Uint8Array(4096);
  let text = "";
  await eventually(async () => {
    const n = await tail.read(buffer);
    text += new TextDecoder().decode(buffer.subarray(0, n ?? 0));
    return text.includes("bGF0ZQ") || n === null;
  }, "the tail to deliver the late record");
  assertEquals(text.includes("bGF0ZQ"), true, "the tail is still open and delivers");
  tail.close();
});

Deno.test("HTTP: connections past the cap are closed at once and counted", async () => {
  await using node = await startApi(3);
  const held = await Promise.all(
    Array.from({ length: 3 }, () => Deno.connect({ hostname: "127.0.0.1", port: node.api.port })),
  );
  await eventually(() => node.api.connections.open === 3, "three connections held");
  const extra = await Deno.connect({ hostname: "127.0.0.1", port: node.api.port });
  assertEquals(await readAll(extra), "", "the fourth is closed");
  extra.close();
  assertEquals(node.api.connections.refusedAtCap, 1);
  for (const conn of held) conn.close();
});

Deno.test("HTTP: keep-alive still works on connections Strand accepted", async () => {
  await using node = await startApi();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: node.api.port });
  const buffer = new Uint8Array(4096);
  for (let i = 0; i < 3; i++) {
    await conn.write(new TextEncoder().encode("GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
    const n = await conn.read(buffer);
    const text = new TextDecoder().decode(buffer.subarray(0, n ?? 0));
    assertEquals(text.startsWith("HTTP/1.1 200"), true, `request ${i} answered`);
  }
  conn.close();
  assertEquals(node.api.connections.accepted, 1, "one connection for the three");
});
