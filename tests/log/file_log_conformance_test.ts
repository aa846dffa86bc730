import { openLog } from "../../log/mod.ts";
import { runConformance } from "./conformance.ts";

runConformance("FileLog", async (options) => {
  const dir = await Deno.makeTempDir({ prefix: "strand-log-" });
  const log = await openLog(dir, options);
  return {
    log,
    dispose: async () => {
      await log.close().catch(() => {});
      await Deno.remove(dir, { recursive: true });
    },
  };
});
