/** Backoff with full jitter under an overall deadline, on an injected clock. */
import { status } from "@grpc/grpc-js";
import {
  backoffDelayMs,
  DEFAULT_RETRY_POLICY,
  isRetryable,
  retrying,
  type RetryRuntime,
} from "../../client/_retry.ts";
import { assertEquals, rejection } from "../server/_assert.ts";

Deno.test("client retry: full jitter draws below a ceiling that doubles up to the max", () => {
  const top = () => 0.999999;
  const ceilings = [0, 1, 2, 3, 4, 5, 6, 10].map((n) =>
    backoffDelayMs(n, DEFAULT_RETRY_POLICY, top)
  );
  assertEquals(ceilings, [49, 99, 199, 399, 799, 1599, 1999, 1999]);
  assertEquals(backoffDelayMs(3, DEFAULT_RETRY_POLICY, () => 0), 0);
});

Deno.test("client retry: retries retryable failures until the deadline leaves no room, then throws the last with attempts", async () => {
  let nowMs = 0;
  const waits: number[] = [];
  const runtime: RetryRuntime = {
    now: () => nowMs,
    random: () => 0.5,
    sleep: (ms) => {
      waits.push(ms);
      nowMs += ms;
      return Promise.resolve();
    },
  };
  const policy = { ...DEFAULT_RETRY_POLICY, deadlineMs: 1_000 };
  const deadlines: number[] = [];
  const failure = await rejection(retrying((deadlineMs) => {
    deadlines.push(deadlineMs);
    nowMs += 10;
    return Promise.reject({ code: status.UNAVAILABLE });
  }, { policy, runtime, signal: new AbortController().signal, shouldRetry: () => true }));
  assertEquals(failure.attempts, waits.length + 1);
  assertEquals(waits, [25, 50, 100, 200, 400]);
  // Every attempt is bounded by the overall deadline.
  assertEquals(deadlines.every((ms) => ms <= 1_000), true);

  let calls = 0;
  const refused = await rejection(retrying(() => {
    calls++;
    return Promise.reject({ code: status.INVALID_ARGUMENT });
  }, { policy, runtime, signal: new AbortController().signal, shouldRetry: () => false }));
  assertEquals([calls, refused.attempts], [1, 1]);
  // A connection that broke under the call (grpc-js says INTERNAL) is retried; other INTERNALs not.
  assertEquals(
    isRetryable({ code: status.INTERNAL, details: "Received RST_STREAM with code 2" }),
    true,
  );
  assertEquals(
    isRetryable({ code: status.INTERNAL, details: "Failed to parse server response" }),
    false,
  );
});
