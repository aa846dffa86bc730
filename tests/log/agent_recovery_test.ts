/**
 * The node reports what the log's recovery found: a kept damaged range is logged at error and
 * counted, a cut torn tail is logged at warn and counted.
 * @module
 */

import { startAgent } from "../../agent/mod.ts";
import { openLog } from "../../log/mod.ts";
import { createLogger, Metrics } from "../../observe/mod.ts";
import { assert, assertEquals } from "./_assert.ts";
import { forgetCleanClose, indexOf, storeFiles, valueOf, withTempDir } from "./_fixtures.ts";

/** Starts a node on `dataDir`, returns its log lines and metrics text, stops it. */
async function startAndScrape(dataDir: string): Promise<{ lines: string[]; text: string }> {
  const lines: string[] = [];
  const metrics = new Metrics();
  const agent = await startAgent({
    dataDir,
    nodeName: "n1",
    bindHost: "127.0.0.1",
    rpcPort: 0,
    httpPort: 0,
    logger: createLogger({ format: "json", write: (line) => lines.push(line) }),
    metrics,
  });
  try {
    return { lines, text: await metrics.exposition() };
  } finally {
    await agent.shutdown();
  }
}

Deno.test("the node logs and counts damage its log's recovery kept or cut", () =>
  withTempDir(async (dataDir) => {
    const dir = `${dataDir}/log`;
    const log = await openLog(dir, { segmentBytesMax: 1500, fsync: { mode: "never" } });
    for (let i = 0; i < 30; i++) await log.append([valueOf(i)]);
    await log.close();
    const stores = await storeFiles(dir);
    const store = stores[stores.length - 1]!;
    const index = new DataView((await Deno.readFile(indexOf(store))).buffer);
    const raw = await Deno.readFile(store);
    raw[index.getUint32(24, true) + 50]! ^= 0x40; // the second frame: intact ones follow
    await Deno.writeFile(store, raw);
    const size = raw.length;
    await Deno.truncate(store, size - 3); // and a torn last frame
    await forgetCleanClose(dir);

    const { lines, text } = await startAndScrape(dataDir);
    const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    const corrupt = parsed.find((line) => line.kind === "corrupt");
    assert(corrupt !== undefined, `no corrupt line in ${lines.join("\n")}`);
    assertEquals(corrupt.level, "error");
    assert(String(corrupt.msg ?? corrupt.message).includes("never cut"), JSON.stringify(corrupt));
    const cut = parsed.find((line) => line.kind === "tail_cut");
    assert(cut !== undefined, `no tail_cut line in ${lines.join("\n")}`);
    assertEquals(cut.level, "warn");
    assertEquals(cut.bytes, size - 3 - index.getUint32((index.byteLength / 24 - 1) * 24, true));
    assert(/strand_log_recovery_events_total\{kind="corrupt"\} 1/.test(text), text);
    assert(/strand_log_recovery_events_total\{kind="tail_cut"\} 1/.test(text), text);
    assert(/strand_log_recovery_corrupt_records_total 1\b/.test(text), text);
  }));
