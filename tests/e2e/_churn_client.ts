/**
 * Child process of the churn test: opens channels, starts calls and streams, then exits
 * without closing anything (the abrupt vanish: no GOAWAY, sockets dropped by the OS).
 * Args: <addr> <channels>.
 */
import { LogClient } from "../../client/mod.ts";

const [addr = "", channelsText = "10"] = Deno.args;
const encoder = new TextEncoder();
const clients = Array.from({ length: Number(channelsText) }, () => new LogClient(addr));
await Promise.all(clients.map(async (client, i) => {
  for (let n = 0; n < 20; n++) await client.produce(encoder.encode(`vanish-${i}-${n}`));
  const stream = client.produceStream();
  for (let n = 0; n < 10; n++) void stream.send([encoder.encode(`open-${i}-${n}`)]).catch(() => {});
  const tail = client.consumeStream(0)[Symbol.asyncIterator]();
  await tail.next(); // a stream open mid-flight when the process vanishes
}));
console.log("vanishing");
Deno.exit(0);
