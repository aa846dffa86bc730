/**
 * `strand health`: asks a node's operations listener (`--ops-addr`) whether it is ready, for
 * a container HEALTHCHECK on an image without a shell or curl.
 * @module
 */
import { parseArgs } from "node:util";
import { splitHostPort } from "./_config.ts";
import { CliError } from "./_errors.ts";

/** Help text of `health`. */
export const HEALTH_HELP = `Usage: strand health [options]

Asks a node's operations listener (serve --ops-addr) for /readyz (or /healthz with --live):
exits 0 and prints "ready" when it answers 200, exits 1 with the reason otherwise.

Options:
  --addr HOST:PORT    the operations listener (default 127.0.0.1:8403)
  --live              ask /healthz (the process is up) instead of /readyz
  --timeout-ms N      give up after N ms (default 3000)
  -h, --help          this text

Example (a Dockerfile without a shell):
  HEALTHCHECK CMD ["/usr/local/bin/strand", "health", "--addr", "127.0.0.1:8403"]
`;

function options(args: string[]) {
  try {
    return parseArgs({
      args,
      options: {
        addr: { type: "string", default: "127.0.0.1:8403" },
        live: { type: "boolean", default: false },
        "timeout-ms": { type: "string", default: "3000" },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (error) {
    throw new CliError(`${(error as Error).message}\n(see strand health --help)`);
  }
}

/** Runs `health`; resolves with the exit code (0 ready, 1 not). */
export async function runHealth(args: string[]): Promise<number> {
  const values = options(args);
  const { host, port } = splitHostPort(values.addr, "--addr");
  const timeoutMs = Number(values["timeout-ms"]);
  if (!Number.isSafeInteger(timeoutMs) || timeoutMs <= 0) {
    throw new CliError(`Cannot use --timeout-ms=${values["timeout-ms"]}: expected an integer > 0`);
  }
  const path = values.live ? "/healthz" : "/readyz";
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}${path}`;
  let response: Response;
  try {
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const why = (error as Error).name === "TimeoutError"
      ? `no answer in ${timeoutMs} ms`
      : (error as Error).message;
    throw new CliError(`Cannot reach ${url}: ${why}`, 1);
  }
  const text = (await response.text()).trim();
  if (response.status === 200) {
    console.log(values.live ? "live" : "ready");
    return 0;
  }
  throw new CliError(`${url} answered ${response.status}: ${text}`, 1);
}
