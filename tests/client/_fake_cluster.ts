/**
 * In-process fake members of a cluster for the client tests: grpc-js servers of `log.v1.Log`
 * that share one member list, record every request they serve, and fail on demand.
 */
import {
  Metadata,
  Server,
  ServerCredentials,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceError,
  status,
} from "@grpc/grpc-js";
import { logService, type ServerMessage } from "../../proto/mod.ts";

/** One request a fake member served. */
export interface Served {
  readonly member: string;
  readonly method: string;
  readonly producerId?: string;
  readonly sequence?: number;
  readonly count?: number;
}

/** What a member does with the next produce. */
export type ProduceMode =
  /** Appends and answers. */
  | "ok"
  /** Refuses with UNAVAILABLE naming `leaderAddr` in the trailers (not appended). */
  | "not-leader"
  /** Appends, then answers UNAVAILABLE as if the answer was lost (outcome unknown to the client). */
  | "lose-answer"
  /** Refuses once with FAILED_PRECONDITION (the sequence), not appended. */
  | "refuse-sequence";

/** A fake member. */
export interface FakeMember {
  readonly name: string;
  readonly addr: string;
  produceMode: ProduceMode;
  /** Address named in `not-leader` trailers. */
  leaderAddr: string;
}

type Unary<Req, Res> = (
  call: ServerUnaryCall<Req, Res>,
  done: (error: Partial<ServiceError> | null, value?: Res) => void,
) => void;

/** Members sharing one log of appended batches and one member list. */
export class FakeCluster {
  readonly members: FakeMember[] = [];
  readonly served: Served[] = [];
  /** Batches appended, as "producerId/sequence" (or "-" without a producer id). */
  readonly appended: string[] = [];
  leader = "";
  /** When set, GetServers waits for it (to hold resolutions back). */
  getServersGate: Promise<void> | null = null;
  readonly #servers = new Map<string, Server>();

  /** Starts members `names` on free loopback ports; the first leads. */
  static async start(names: string[]): Promise<FakeCluster> {
    const cluster = new FakeCluster();
    for (const name of names) await cluster.#startMember(name);
    cluster.leader = names[0]!;
    return cluster;
  }

  /** The member called `name`. */
  get(name: string): FakeMember {
    const member = this.members.find((m) => m.name === name);
    if (member === undefined) throw new Error(`no member ${name}`);
    return member;
  }

  /** What `GetServers` answers. */
  servers(): ServerMessage[] {
    return this.members.map((m) => ({
      id: m.name,
      rpcAddr: m.addr,
      isLeader: m.name === this.leader,
    }));
  }

  /** Requests of `method` served, by member name. */
  countBy(method: string): Record<string, number> {
    const counts: Record<string, number> = {};
    for (const served of this.served) {
      if (served.method === method) counts[served.member] = (counts[served.member] ?? 0) + 1;
    }
    return counts;
  }

  async #startMember(name: string): Promise<void> {
    const server = new Server();
    const port = await new Promise<number>((resolve, reject) => {
      server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, bound) => {
        if (error) reject(error);
        else resolve(bound);
      });
    });
    const member: FakeMember = {
      name,
      addr: `127.0.0.1:${port}`,
      produceMode: "ok",
      leaderAddr: "",
    };
    server.addService(logService, this.#handlers(member));
    this.members.push(member);
    this.#servers.set(name, server);
  }

  #handlers(member: FakeMember) {
    type ProduceReq = {
      record?: unknown;
      records?: unknown[];
      producerId?: string;
      sequence?: number;
    };
    const produce: Unary<ProduceReq, unknown> = (call, done) => {
      const request = call.request;
      const count = request.records?.length || 1;
      const sequence = request.sequence === undefined ? undefined : Number(request.sequence);
      this.served.push({
        member: member.name,
        method: "Produce",
        ...(request.producerId ? { producerId: request.producerId } : {}),
        ...(sequence === undefined ? {} : { sequence }),
        count,
      });
      if (member.produceMode === "not-leader") {
        const metadata = new Metadata();
        metadata.set("strand-leader-addr", member.leaderAddr);
        return done({
          code: status.UNAVAILABLE,
          details: "Cannot append: not the leader",
          metadata,
        });
      }
      if (member.produceMode === "refuse-sequence") {
        member.produceMode = "ok";
        return done({ code: status.FAILED_PRECONDITION, details: "Cannot append batch: too old" });
      }
      const key = request.producerId ? `${request.producerId}/${sequence}` : "-";
      const earlier = request.producerId ? this.appended.indexOf(key) : -1;
      const offset = earlier >= 0 ? earlier : this.appended.push(key) - 1;
      if (member.produceMode === "lose-answer") {
        member.produceMode = "ok";
        return done({ code: status.UNAVAILABLE, details: "Connection dropped" });
      }
      done(null, { offset, count, duplicate: earlier >= 0 });
    };
    const consume: Unary<{ offset: number }, unknown> = (call, done) => {
      this.served.push({ member: member.name, method: "Consume" });
      done(null, {
        record: { value: new TextEncoder().encode(member.name), offset: call.request.offset },
      });
    };
    const getServers: Unary<unknown, unknown> = async (_call, done) => {
      this.served.push({ member: member.name, method: "GetServers" });
      if (this.getServersGate !== null) await this.getServersGate;
      done(null, { servers: this.servers() });
    };
    const consumeStream = (call: ServerWritableStream<{ offset: number }, unknown>) => {
      this.served.push({ member: member.name, method: "ConsumeStream" });
      call.end();
    };
    return { produce, consume, getServers, consumeStream, produceStream: () => {} };
  }

  /** Stops member `name` (its connections drop). */
  stop(name: string): void {
    this.#servers.get(name)?.forceShutdown();
  }

  /** Stops every member. */
  close(): void {
    for (const server of this.#servers.values()) server.forceShutdown();
  }
}
