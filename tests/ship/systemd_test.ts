/**
 * The systemd unit: the binary's flags are ones `serve` knows, its data and config are in the
 * places the shipped permissions allow, and the descriptor limit it gives the process is the
 * one it tells Strand (which cannot read its own limit under those permissions).
 */
import { assert, assertEquals } from "../server/_assert.ts";
import { serveKeys } from "../../cli/_config.ts";
import { SHIPPED_READ_PATHS, SHIPPED_WRITE_PATHS } from "../../cli/_permissions.ts";

const unitPath = new URL("../../deploy/systemd/strand.service", import.meta.url);
const unit = await Deno.readTextFile(unitPath);

/** The values of `Key=` lines of the unit, in order. */
function values(key: string): string[] {
  return unit.split("\n").filter((line) => line.startsWith(`${key}=`)).map((line) =>
    line.slice(key.length + 1)
  );
}

Deno.test("systemd unit: the descriptor limit it sets is the one it states to Strand", () => {
  const [limit] = values("LimitNOFILE");
  assert(limit !== undefined && /^[0-9]+$/.test(limit), "the unit sets a numeric LimitNOFILE");
  assert(values("Environment").includes(`STRAND_FD_LIMIT=${limit}`), "STRAND_FD_LIMIT matches");
});

Deno.test("systemd unit: serve's flags exist and its paths are ones the binary may touch", () => {
  const [execStart] = values("ExecStart");
  const args = execStart!.split(/\s+/);
  assertEquals(args.slice(0, 2), ["/usr/local/bin/strand", "serve"]);
  const flags = new Map<string, string>();
  for (let i = 2; i < args.length; i += 2) flags.set(args[i]!.replace(/^--/, ""), args[i + 1]!);
  for (const key of flags.keys()) assert(key in serveKeys, `serve has no flag --${key}`);
  assert(SHIPPED_WRITE_PATHS.includes(flags.get("data-dir")!), "data dir is writable as shipped");
  const config = flags.get("config-file")!;
  assert(SHIPPED_READ_PATHS.some((dir) => config.startsWith(`${dir}/`)), "config is readable");
});
