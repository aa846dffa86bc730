import { openMetaStore } from "../../log/mod.ts";
import { assertEquals, assertRejectsLog, bytes, text } from "./_assert.ts";

async function withDir(run: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "strand-meta-" });
  try {
    await run(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("MetaStore loads null before the first save, then the last saved bytes", () =>
  withDir(async (dir) => {
    const meta = await openMetaStore(`${dir}/raft.meta`);
    assertEquals(meta.load(), null);
    await meta.save(bytes("term=1"));
    await meta.save(bytes("term=2"));
    assertEquals(text(meta.load()!), "term=2");
    const reopened = await openMetaStore(`${dir}/raft.meta`);
    assertEquals(text(reopened.load()!), "term=2");
    let names: string[] = [];
    for await (const item of Deno.readDir(dir)) names.push(item.name);
    names = names.sort();
    assertEquals(names, ["raft.meta"], "no temp file is left behind");
  }));

Deno.test("MetaStore applies concurrent saves in call order", () =>
  withDir(async (dir) => {
    const meta = await openMetaStore(`${dir}/m`);
    await Promise.all(Array.from({ length: 10 }, (_, i) => meta.save(bytes(`v${i}`))));
    assertEquals(text((await openMetaStore(`${dir}/m`)).load()!), "v9");
  }));

Deno.test("MetaStore reports a damaged file as CORRUPT", () =>
  withDir(async (dir) => {
    const meta = await openMetaStore(`${dir}/m`);
    await meta.save(bytes("vote=n2"));
    const raw = await Deno.readFile(`${dir}/m`);
    raw[raw.length - 1]! ^= 0x01;
    await Deno.writeFile(`${dir}/m`, raw);
    await assertRejectsLog(openMetaStore(`${dir}/m`), "CORRUPT", "checksum");
    await Deno.writeFile(`${dir}/m`, raw.subarray(0, 5));
    await assertRejectsLog(openMetaStore(`${dir}/m`), "CORRUPT");
  }));

Deno.test("MetaStore copies: later changes to the saved buffer do not leak in", () =>
  withDir(async (dir) => {
    const meta = await openMetaStore(`${dir}/m`);
    const value = bytes("abc");
    await meta.save(value);
    value[0] = 0x7a;
    const loaded = meta.load()!;
    loaded[1] = 0x7a;
    assertEquals(text(meta.load()!), "abc");
  }));
