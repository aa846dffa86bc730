// The request path skips building spans when no tracer provider is registered (the default
// without OTEL_DENO), and builds them as soon as one is.
import { INVALID_SPAN_CONTEXT, trace, type Tracer, type TracerProvider } from "@opentelemetry/api";
import { startRequestSpan, tracingActive, withSpan } from "../../observe/_tracing.ts";
import { ROOT_CONTEXT } from "@opentelemetry/api";

function assertEquals<T>(actual: T, expected: T, message = ""): void {
  if (actual !== expected) throw new Error(`${message}: ${actual} !== ${expected}`);
}

Deno.test("without a tracer provider no span is built; with one, spans are started", async () => {
  assertEquals(tracingActive(), false, "no provider registered in tests");
  const off = startRequestSpan({ transport: "grpc", method: "Produce", parent: ROOT_CONTEXT });
  assertEquals(off.span.isRecording(), false, "inactive span");
  assertEquals(off.context, ROOT_CONTEXT, "the parent context unchanged");

  const started: string[] = [];
  const span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);
  const recordingTracer: Tracer = {
    startSpan: (name) => {
      started.push(name);
      return span;
    },
    startActiveSpan: ((name: string, ...rest: unknown[]) => {
      started.push(name);
      const work = rest.at(-1) as (span: unknown) => unknown;
      return work(span);
    }) as Tracer["startActiveSpan"],
  };
  const provider: TracerProvider = { getTracer: () => recordingTracer };
  trace.setGlobalTracerProvider(provider);
  try {
    assertEquals(tracingActive(), true, "provider registered");
    startRequestSpan({ transport: "http", method: "GET /", parent: ROOT_CONTEXT });
    await withSpan("log.append", {}, () => Promise.resolve(1));
    assertEquals(started.join(","), "GET /,log.append", "spans started");
  } finally {
    trace.disable();
  }
  assertEquals(tracingActive(), false, "provider removed");
});
