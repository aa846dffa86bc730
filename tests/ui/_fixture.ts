/**
 * The real HTTP server of one in-process Service (over a MemoryLog) whose `GET /v1/cluster`
 * answers a view the test controls: a leader, a lagging follower, and an unreachable member
 * with a hostile name. Each answer advances the server time by 2 s and the counters by fixed
 * amounts, so the page's rates are known exactly (25 produced/s, 10 consumed/s; a restart of
 * n2 at the 7th answer resets its counter, which must not plot a negative rate).
 */
import type { ServerResponse } from "node:http";
import { type HttpServer, Service, startHttpServer } from "../../server/mod.ts";
import { MemoryLog } from "../server/_memory_log.ts";

/** A member name that would run script if the page used innerHTML. */
export const hostileName = `<img src=x onerror="document.title='owned'">`;

/** The fixture's knobs and its server. */
export interface Fixture {
  url: string;
  http: HttpServer;
  /** Answers so far. */
  answers: number;
  /** While true, `/v1/cluster` answers 503 (the node cannot see the cluster). */
  failing: boolean;
  [Symbol.asyncDispose](): Promise<void>;
}

function view(step: number) {
  const node = (name: string, extra: Record<string, unknown>) => ({
    name,
    rpcAddr: `127.0.0.1:${9000 + name.length}`,
    httpAddr: null,
    suffrage: "voter",
    reachable: true,
    term: 4,
    commitIndex: 120,
    appliedIndex: 120,
    log: { firstOffset: 0, nextOffset: 100, bytes: 4096 },
    counters: { recordsProduced: 0, recordsConsumed: 0 },
    ...extra,
  });
  return {
    time: new Date(Date.UTC(2026, 0, 1) + step * 2000).toISOString(),
    leader: { name: "n1", rpcAddr: "127.0.0.1:9002" },
    term: 4,
    nodes: [
      node("n1", {
        role: "leader",
        matchIndex: 120,
        lag: 0,
        counters: { recordsProduced: 1000 + 50 * step, recordsConsumed: 7 },
      }),
      // lag and matchIndex differ on purpose: a page showing one for the other fails.
      node("n2", {
        role: "follower",
        commitIndex: 117,
        appliedIndex: 116,
        matchIndex: 117,
        lag: 3,
        log: { firstOffset: 0, nextOffset: 97, bytes: 3 * 1024 * 1024 },
        // n2 restarts at step 6: its counter starts from zero again.
        counters: { recordsProduced: 0, recordsConsumed: 20 * (step < 6 ? step : step - 6) },
      }),
      {
        name: hostileName,
        rpcAddr: "127.0.0.1:1",
        httpAddr: null,
        suffrage: "learner",
        role: "unknown",
        reachable: false,
        error: "connect ECONNREFUSED 127.0.0.1:1",
        term: null,
        commitIndex: null,
        appliedIndex: null,
        matchIndex: null,
        lag: null,
        log: null,
        counters: null,
      },
    ],
  };
}

/** Starts the fixture server on 127.0.0.1 and a free port. */
export async function startFixture(): Promise<Fixture> {
  const log = new MemoryLog(1024);
  const service = new Service({ log, observe: () => {} });
  const fixture = { answers: 0, failing: false } as Fixture;
  const answer = (_request: unknown, response: ServerResponse) => {
    if (fixture.failing) {
      const body = JSON.stringify({ error: { code: "UNAVAILABLE", message: "fixture down" } });
      response.writeHead(503, { "content-type": "application/json" });
      response.end(body);
      return;
    }
    const body = JSON.stringify(view(fixture.answers++));
    response.writeHead(200, { "content-type": "application/json" });
    response.end(body);
  };
  const http = await startHttpServer(service, {
    host: "127.0.0.1",
    port: 0,
    routes: { "GET /v1/cluster": answer },
  });
  service.setServing();
  fixture.http = http;
  fixture.url = `http://127.0.0.1:${http.port}`;
  fixture[Symbol.asyncDispose] = async () => {
    service.beginShutdown();
    log.waiters.close();
    await http.close(1000);
  };
  return fixture;
}
