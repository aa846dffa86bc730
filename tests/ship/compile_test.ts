/**
 * `deno task compile`, run as written in deno.json with `DENORT_BIN` pointed at this machine's
 * deno (the real runtime comes from a host CI cannot reach; the local one packs the same
 * graph and the same metadata, but the result runs as the deno CLI, not as Strand). The test
 * reads what was embedded and compares it with deno.json and with the module graph.
 */
import { assert, assertEquals } from "../server/_assert.ts";
import { taskV8Flags } from "../../bench/_shipped_runtime.ts";
import { readPayload } from "./_payload.ts";
import { denoJsonPath, flagList, tempDir } from "./_shipped.ts";

const root = new URL("../../", import.meta.url).pathname;

/** The compile task as env assignments and deno arguments, writing to `output`. */
function compileCommand(output: string): { env: Record<string, string>; args: string[] } {
  const tasks = JSON.parse(Deno.readTextFileSync(denoJsonPath)).tasks as Record<string, string>;
  const words = tasks.compile!.split(/\s+/);
  const env: Record<string, string> = {};
  while (/^[A-Z_]+=/.test(words[0]!)) {
    const [name, value] = words.shift()!.split("=") as [string, string];
    env[name] = value;
  }
  assertEquals(words.slice(0, 2), ["deno", "compile"]);
  const args = words.slice(1);
  const at = args.indexOf("--output");
  assert(at > 0 && args[at + 1] === "strand", "the compile task writes ./strand");
  args[at + 1] = output;
  return { env, args };
}

/**
 * Local modules main.ts reaches through code imports (a module reached only by `import type`
 * has nothing to run and is not embedded), and the npm packages (with their dependencies).
 */
async function moduleGraph(): Promise<{ local: string[]; npm: string[] }> {
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", `--config=${denoJsonPath}`, "main.ts"],
    cwd: root,
    stdout: "piped",
  }).output();
  assert(output.success, "deno info failed");
  const info = JSON.parse(new TextDecoder().decode(output.stdout)) as {
    roots: string[];
    modules: {
      specifier: string;
      npmPackage?: string;
      dependencies?: { code?: { specifier: string } }[];
    }[];
    npmPackages: Record<string, { dependencies?: string[] }>;
  };
  const bySpecifier = new Map(info.modules.map((m) => [m.specifier, m]));
  const reached = new Set<string>();
  const walk = [...info.roots];
  while (walk.length > 0) {
    const specifier = walk.pop()!;
    if (reached.has(specifier)) continue;
    reached.add(specifier);
    for (const dependency of bySpecifier.get(specifier)?.dependencies ?? []) {
      if (dependency.code !== undefined) walk.push(dependency.code.specifier);
    }
  }
  const local = [...reached].filter((specifier) => specifier.startsWith(`file://${root}`))
    .map((specifier) => specifier.slice(`file://${root}`.length))
    .filter((path) => !path.endsWith(".d.ts")); // types only: nothing to run
  const pending = info.modules.flatMap((m) => m.npmPackage ? [m.npmPackage] : []);
  const npm = new Set<string>();
  while (pending.length > 0) {
    const id = pending.pop()!;
    if (npm.has(id)) continue;
    npm.add(id);
    pending.push(...(info.npmPackages[id]?.dependencies ?? []));
  }
  return { local: local.sort(), npm: [...npm].sort() };
}

/** `.deno_compile_node_modules/localhost/@scope/name/1.2.3/…` → `@scope/name@1.2.3`. */
function packageOf(path: string): string {
  const parts = path.split("/").slice(2);
  const scoped = parts[0]!.startsWith("@");
  const name = scoped ? `${parts[0]}/${parts[1]}` : parts[0]!;
  return `${name}@${parts[scoped ? 2 : 1]}`;
}

Deno.test("compile: the binary embeds main.ts's graph, deno.json's permissions and V8 flags, nothing else", async () => {
  await using work = await tempDir();
  const output = `${work.path}/strand`;
  const { env, args } = compileCommand(output);
  const built = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: root,
    env: { ...env, DENORT_BIN: Deno.execPath(), NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000),
  }).output();
  assert(built.success, new TextDecoder().decode(built.stderr));
  const binary = await Deno.readFile(output);
  const runtime = await Deno.readFile(Deno.execPath());
  assert(binary.subarray(0, runtime.length).every((byte, i) => byte === runtime[i]));
  const payload = readPayload(binary, runtime.length);

  const { metadata } = payload;
  assertEquals(metadata.entrypoint_key, "main.ts");
  assertEquals(metadata.argv, []);
  for (const flag of taskV8Flags("compile").split(",")) {
    assert(metadata.v8_flags.includes(flag), `V8 flags ${metadata.v8_flags} lack ${flag}`);
  }
  const p = metadata.permissions;
  assertEquals(p.allow_read, flagList("compile", "allow-read"));
  assertEquals(p.allow_write, flagList("compile", "allow-write"));
  assertEquals(p.allow_env, flagList("compile", "allow-env"));
  assertEquals(p.ignore_env, flagList("compile", "ignore-env"));
  assertEquals(p.allow_sys, flagList("compile", "allow-sys"));
  assertEquals(p.allow_net, []); // [] is "all hosts": --allow-net without a list
  assertEquals(p.prompt, false);
  for (const none of ["allow_run", "allow_ffi", "ignore_read"]) assertEquals(p[none], null, none);

  const graph = await moduleGraph();
  assertEquals([...payload.remoteModules], new Array(12).fill(0), "no remote modules");
  assertEquals([...payload.npmPackages].sort(), graph.npm);
  const npmDir = ".deno_compile_node_modules/localhost/";
  const embeddedPackages = new Set(
    payload.files.filter((f) => f.startsWith(npmDir)).map(packageOf),
  );
  assertEquals([...embeddedPackages].sort(), graph.npm, "node_modules holds only the graph's");
  const local = payload.files.filter((f) => !f.startsWith(npmDir)).sort();
  assertEquals(local, graph.local);
  const stray = local.filter((f) =>
    /(^|\/)(tests|bench|data|certs|\.git)\//.test(f) || /\.(pem|key|csv|conf)$/.test(f)
  );
  assertEquals(stray, []);
});
