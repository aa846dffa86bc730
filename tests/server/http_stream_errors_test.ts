/**
 * HTTP streams that fail after their 200 status line: a damaged record (CORRUPT) must end the
 * stream with an error line / SSE `error` event carrying the code, and the connection must not
 * look complete (no terminating chunk).
 */
import { LocalCommitLog } from "../../agent/_local_log.ts";
import { openLog } from "../../log/mod.ts";
import { type ServedRecord, Service, startHttpServer } from "../../server/mod.ts";
import { assert, assertEquals, encoder } from "./_assert.ts";
import { startHarness } from "./_harness.ts";
import { MemoryLog } from "./_memory_log.ts";
import { rawRequest } from "./_raw_http.ts";

class CorruptError extends Error {
  readonly code = "CORRUPT";
}

/** A MemoryLog whose record `damaged` fails verification, as the file log reports it. */
class DamagedLog extends MemoryLog {
  damaged = -1;
  override readFrom(offset: number, bytesMax: number): ServedRecord[] {
    if (offset === this.damaged) {
      throw new CorruptError(`Cannot read offset ${offset}: its batch fails its checksum`);
    }
    const records = super.readFrom(offset, bytesMax);
    return this.damaged > offset ? records.filter((r) => r.offset < this.damaged) : records;
  }
}

async function damagedHarness() {
  const log = new DamagedLog();
  const logged: string[] = [];
  const logger = {
    debug() {},
    info() {},
    warn() {},
    error: (message: string, fields?: Record<string, unknown>) =>
      logged.push(`${message} ${JSON.stringify(fields)}`),
  };
  const h = await startHarness({ log, logger });
  await log.append(["a", "b", "c", "d", "e"].map((v) => encoder.encode(v)));
  log.damaged = 3;
  return { h, log, logged };
}

for (const follow of [false, true]) {
  Deno.test(`HTTP NDJSON stream (follow=${follow}) ends at a damaged record with an error line and no final chunk`, async () => {
    const { h, logged } = await damagedHarness();
    await using _ = h;
    const reply = await rawRequest(h.http.port, "GET", `/v1/records?from=0&follow=${follow}`);
    assertEquals(reply.status, 200);
    const lines = reply.body.trim().split("\n").map((line) => JSON.parse(line));
    assertEquals(lines.slice(0, 3).map((l) => l.offset), [0, 1, 2]);
    assertEquals(lines[3].error.code, "CORRUPT");
    assert(lines[3].error.message.includes("offset 3"), lines[3].error.message);
    assertEquals(lines.length, 4);
    assertEquals(reply.complete, false, `the response must not end cleanly: ${reply.rawBody}`);
    assert(logged.some((line) => line.includes("CORRUPT")), "the damage is logged at error");
    assert(
      h.events.some((e) => e.method === "GET /v1/records" && e.status === "500"),
      JSON.stringify(h.events),
    );
  });
}

Deno.test("HTTP SSE stream ends at a damaged record with an error event and no final chunk", async () => {
  const { h } = await damagedHarness();
  await using _ = h;
  const reply = await rawRequest(h.http.port, "GET", "/v1/records?from=1", {
    headers: { accept: "text/event-stream" },
  });
  const events = reply.body.split("\n\n").filter((e) => e !== "");
  assertEquals(events.slice(0, 2).map((e) => e.split("\n")[0]), ["id: 1", "id: 2"]);
  const last = events[2]!.split("\n");
  assertEquals(last[0], "event: error");
  assertEquals(JSON.parse(last[1]!.slice("data: ".length)).error.code, "CORRUPT");
  assertEquals(events.length, 3);
  assertEquals(reply.complete, false);
});

Deno.test("HTTP stream over a file log with a damaged frame on disk ends with CORRUPT", async () => {
  const dir = await Deno.makeTempDir({ prefix: "strand-http-corrupt-" });
  try {
    const options = { segmentBytesMax: 2000, fsync: { mode: "never" } } as const;
    const log = await openLog(dir, options);
    for (let i = 0; i < 120; i += 2) {
      await log.append([encoder.encode(`value-${i}`), encoder.encode(`value-${i + 1}`)]);
    }
    await log.close();
    const stores: string[] = [];
    for await (const item of Deno.readDir(dir)) {
      if (item.name.endsWith(".store")) stores.push(`${dir}/${item.name}`);
    }
    const sealed = stores.sort()[1]!; // a sealed segment in the middle of the log
    const raw = await Deno.readFile(sealed);
    raw[Math.floor(raw.length / 2)]! ^= 0x5a;
    await Deno.writeFile(sealed, raw); // CLEAN stays: the damaged batch is kept and reported
    const reopened = await openLog(dir, options);
    const firstDamaged = [...Array(120).keys()].find((offset) => {
      try {
        reopened.read(offset);
        return false;
      } catch {
        return true;
      }
    });
    assert(firstDamaged !== undefined && firstDamaged > 0, `damage found at ${firstDamaged}`);
    const commitLog = new LocalCommitLog(reopened);
    const service = new Service({ log: commitLog });
    const http = await startHttpServer(service, { host: "127.0.0.1", port: 0 });
    service.setServing();
    try {
      const reply = await rawRequest(http.port, "GET", "/v1/records?from=0");
      const lines = reply.body.trim().split("\n").map((line) => JSON.parse(line));
      const records = lines.filter((line) => "offset" in line).map((line) => line.offset);
      assertEquals(records, [...Array(firstDamaged).keys()], "every record before the damage");
      assertEquals(lines.at(-1).error.code, "CORRUPT");
      assertEquals(reply.complete, false);
    } finally {
      service.beginShutdown();
      commitLog.close();
      await http.close(1000);
      await reopened.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("HTTP streams that reach their limit or the end finish with the terminating chunk", async () => {
  await using h = await startHarness();
  await h.log.append(["a", "b"].map((v) => encoder.encode(v)));
  const limited = await rawRequest(h.http.port, "GET", "/v1/records?from=1&limit=1");
  assertEquals([limited.complete, JSON.parse(limited.body).offset], [true, 1]);
  const whole = await rawRequest(h.http.port, "GET", "/v1/records?from=0");
  assertEquals([whole.complete, whole.body.trim().split("\n").length], [true, 2]);
});
