/**
 * The client commands: `produce`, `consume`, `servers`.
 * @module
 */
import { Buffer } from "node:buffer";
import { parseArgs } from "node:util";
import { type ChannelCredentials, type ChannelOptions, status } from "@grpc/grpc-js";
import { StrandClient, targetAddresses } from "../client/mod.ts";
import type { RecordMessage } from "../proto/mod.ts";
import { type ConnectionTarget, describeClientError } from "./_client_errors.ts";
import { describeSources, resolveClientSettings } from "./_client_settings.ts";
import { CliError } from "./_errors.ts";
import { type FlagValues, loadClientGrpcSecurity, SecurityError } from "../security/mod.ts";

/** The connection options every client command takes, for help texts. */
export const CLIENT_OPTIONS_HELP = `  --addr HOST:PORT[,HOST:PORT…]
                            one or more members' gRPC addresses, or strand://HOST:PORT,…
                            (default 127.0.0.1:8400); the others are found through any of them
  --tls-ca-file FILE        use TLS, trusting this CA for the server's certificate
  --tls-cert-file FILE, --tls-key-file FILE
                            client certificate for mutual TLS (its CN is the ACL subject)
  --tls-server-name NAME    verify the server as NAME (default: the --addr host; for a
                            loopback IP, localhost: Deno cannot verify IP addresses)
  --context NAME            take unset settings from this saved context (default: the
                            current one, see strand context; "" for none)
  -h, --help                this text

Each setting may also come from STRAND_ADDR, STRAND_TLS_CA_FILE, STRAND_TLS_CERT_FILE,
STRAND_TLS_KEY_FILE, STRAND_TLS_SERVER_NAME, or STRAND_CONTEXT for the context.
Precedence: flags, then environment, then the context, then defaults.`;

/** Help text of `produce`. */
export const PRODUCE_HELP = `Usage: strand produce [options] [VALUE...]

Appends records and prints each one's offset. Values come from the arguments, or --file
(one record per line), or else standard input (one record per line).

Options:
  --file FILE               read records from FILE, one per line
${CLIENT_OPTIONS_HELP}
`;

/** Help text of `consume`. */
export const CONSUME_HELP = `Usage: strand consume [options]

Prints records from --from on: what exists, or with --follow keeps waiting for new ones
(like tail -f) until --count records or Ctrl-C.

Options:
  --from OFFSET             first offset (default 0)
  --count N                 stop after N records
  --follow                  keep waiting for new records
  --output raw|json         raw values, one per line (default), or JSON lines
                            {"offset","term","value"(base64)}
${CLIENT_OPTIONS_HELP}
`;

/** Help text of `servers`. */
export const SERVERS_HELP = `Usage: strand servers [options]

Lists the cluster's servers (id, RPC address, leader).

Options:
  --output text|json        tab-separated lines (default) or a JSON array of
                            {"id","rpcAddr","isLeader"}
${CLIENT_OPTIONS_HELP}
`;

const clientOptions = {
  addr: { type: "string" },
  context: { type: "string" },
  "tls-cert-file": { type: "string" },
  "tls-key-file": { type: "string" },
  "tls-ca-file": { type: "string" },
  "tls-server-name": { type: "string" },
} as const;

/** Parses a client command's arguments: its own `options` plus the connection settings. */
export function parse<T extends Record<string, { type: "string" | "boolean" }>>(
  command: string,
  args: string[],
  options: T,
) {
  try {
    return parseArgs({ args, options: { ...clientOptions, ...options }, allowPositionals: true });
  } catch (error) {
    throw new CliError(`${(error as Error).message}\n(see strand ${command} --help)`);
  }
}

/** An open client and where it connects (for explaining failures). */
interface Connection {
  readonly client: StrandClient;
  readonly target: ConnectionTarget;
}

/** Where and how a client command connects (address, gRPC credentials, for explaining). */
export interface ClientChannel {
  /** The first address --addr lists (commands that talk to one node use it). */
  readonly addr: string;
  /** --addr as given: one or more members, or a strand:// target (for the cluster client). */
  readonly cluster: string;
  readonly credentials: ChannelCredentials;
  readonly channelOptions: ChannelOptions;
  readonly target: ConnectionTarget;
}

/** Resolves the connection settings; TLS (and mutual TLS) from --tls-*, else plaintext. */
export async function clientChannel(flagValues: Record<string, unknown>): Promise<ClientChannel> {
  const settings = await resolveClientSettings(flagValues);
  const { addr } = settings.values;
  const values: Record<string, string> = { ...settings.values };
  let first: string;
  try {
    first = targetAddresses(addr)[0]!;
  } catch (error) {
    throw new CliError(`${(error as Error).message}${describeSources(settings)}`);
  }
  const host = first.replace(/:\d+$/, "").replace(/^\[(.*)\]$/, "$1");
  if (values["tls-ca-file"] !== undefined && values["tls-server-name"] === undefined) {
    // Deno's TLS refuses an IP address as server name; a local node answers to localhost.
    if (/^127\.|^::1$/.test(host)) values["tls-server-name"] = "localhost";
    else if (/^[\d.]+$|:/.test(host)) {
      throw new CliError(`Cannot verify ${host} over TLS by IP address: add --tls-server-name`);
    }
  }
  const target: ConnectionTarget = {
    addr: first,
    tlsCaFile: values["tls-ca-file"],
    tlsCertFile: values["tls-cert-file"],
    tlsKeyFile: values["tls-key-file"],
    tlsServerName: values["tls-server-name"],
    origin: describeSources(settings),
  };
  try {
    const security = await loadClientGrpcSecurity(values as FlagValues);
    return { addr: first, cluster: addr, ...security, target };
  } catch (error) {
    if (error instanceof SecurityError) {
      throw new CliError(`${error.message}${describeSources(settings)}`);
    }
    throw error;
  }
}

/** Opens a client over {@linkcode clientChannel}'s settings. */
async function connect(flagValues: Record<string, unknown>): Promise<Connection> {
  const { cluster, credentials, channelOptions, target } = await clientChannel(flagValues);
  return { client: new StrandClient(cluster, { credentials, channelOptions }), target };
}

/** The complete lines of each chunk read (a chunk is what the input had ready). */
async function* lines(stream: ReadableStream<Uint8Array>): AsyncGenerator<string[]> {
  let rest = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    const parts = (rest + chunk).split("\n");
    rest = parts.pop() ?? "";
    if (parts.length > 0) yield parts;
  }
  if (rest !== "") yield [rest];
}

/** Records per produce batch, and the bytes a batch may reach before it is sent. */
const batchRecordsMax = 1000;
const batchBytesMax = 1024 * 1024;

/**
 * Sends lines in batches (what the input has ready, bounded), one batch at a time: each batch
 * carries the client's producer id and sequence, so a retried batch is appended once.
 */
async function produceLines(client: StrandClient, input: AsyncIterable<string[]>): Promise<void> {
  const encoder = new TextEncoder();
  const send = async (batch: Uint8Array[]) => {
    const { offset } = await client.produceBatch(batch);
    console.log(batch.map((_, i) => offset + i).join("\n"));
  };
  for await (const chunk of input) {
    let batch: Uint8Array[] = [];
    let bytes = 0;
    for (const line of chunk) {
      const value = encoder.encode(line);
      if (
        batch.length > 0 &&
        (batch.length >= batchRecordsMax || bytes + value.length > batchBytesMax)
      ) {
        await send(batch);
        batch = [];
        bytes = 0;
      }
      batch.push(value);
      bytes += value.length;
    }
    if (batch.length > 0) await send(batch);
  }
}

/** `strand produce`. */
export async function runProduce(args: string[]): Promise<number> {
  const { values, positionals } = parse("produce", args, { file: { type: "string" } });
  const { client, target } = await connect(values);
  try {
    if (positionals.length > 0) {
      const encoder = new TextEncoder();
      for (const value of positionals) {
        console.log((await client.produce(encoder.encode(value))).offset);
      }
    } else if (values.file) {
      using file = await Deno.open(values.file);
      await produceLines(client, lines(file.readable));
    } else {
      await produceLines(client, lines(Deno.stdin.readable));
    }
    return 0;
  } catch (error) {
    throw await describeClientError(error, target);
  } finally {
    client.close();
  }
}

function printer(output: string): (record: RecordMessage) => void {
  if (output !== "raw" && output !== "json") {
    throw new CliError(`Cannot use --output=${output}: expected raw or json`);
  }
  const decoder = new TextDecoder();
  const encoder = new TextEncoder();
  return (record) => {
    const line = output === "raw" ? decoder.decode(record.value) : JSON.stringify({
      offset: Number(record.offset),
      term: Number(record.term),
      value: Buffer.from(record.value).toString("base64"),
    });
    Deno.stdout.writeSync(encoder.encode(`${line}\n`));
  };
}

function count(text: string | undefined, flag: string): number {
  if (text === undefined) return 0;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new CliError(`Cannot use ${flag}=${text}: expected an integer >= 0`);
  }
  return value;
}

/**
 * After a stream that printed nothing from an explicit `--from`: the error when that offset
 * is outside the log (in the node's words, e.g. "the log holds offsets 0 to 41"), or null when
 * a record has appeared there since.
 */
async function pastTheEnd(client: StrandClient, from: number): Promise<CliError | null> {
  try {
    await client.consume(from);
    return null;
  } catch (error) {
    const grpcError = error as { code?: number; details?: string };
    if (grpcError.code !== status.OUT_OF_RANGE) throw error;
    return new CliError(
      `${grpcError.details}; add --follow to wait for offset ${from}`,
      1,
    );
  }
}

/** `strand consume`. */
export async function runConsume(args: string[]): Promise<number> {
  const { values } = parse("consume", args, {
    from: { type: "string" },
    count: { type: "string" },
    follow: { type: "boolean" },
    output: { type: "string" },
  });
  const from = count(values.from, "--from");
  const limit = count(values.count, "--count");
  const print = printer(values.output ?? "raw");
  const { client, target } = await connect(values);
  const stop = new AbortController();
  const onSignal = () => stop.abort();
  Deno.addSignalListener("SIGINT", onSignal);
  try {
    const stopAtEnd = values.follow !== true;
    const options = { limit, stopAtEnd, batchRecordsMax: 500, signal: stop.signal };
    let printed = 0;
    for await (const record of client.consumeStream(from, options)) {
      print(record);
      printed++;
    }
    // Without --follow, nothing at an offset the user asked for is an answer they must see.
    if (printed === 0 && stopAtEnd && values.from !== undefined && !stop.signal.aborted) {
      const pastEnd = await pastTheEnd(client, from);
      if (pastEnd !== null) throw pastEnd;
    }
    return 0;
  } catch (error) {
    if (stop.signal.aborted) return 0;
    throw await describeClientError(error, target);
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    client.close();
  }
}

/** `strand servers`. */
export async function runServers(args: string[]): Promise<number> {
  const { values } = parse("servers", args, { output: { type: "string" } });
  const output = values.output ?? "text";
  if (output !== "text" && output !== "json") {
    throw new CliError(`Cannot use --output=${output}: expected text or json`);
  }
  const { client, target } = await connect(values);
  try {
    const servers = await client.getServers();
    if (output === "json") {
      const list = servers.map(({ id, rpcAddr, isLeader }) => ({ id, rpcAddr, isLeader }));
      console.log(JSON.stringify(list, null, 2));
      return 0;
    }
    for (const server of servers) {
      console.log(`${server.id}\t${server.rpcAddr}\t${server.isLeader ? "leader" : "follower"}`);
    }
    return 0;
  } catch (error) {
    throw await describeClientError(error, target);
  } finally {
    client.close();
  }
}
