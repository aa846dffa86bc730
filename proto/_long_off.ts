/**
 * Makes protobufjs decode 64-bit integers as plain numbers (offsets stay far below 2^53).
 * Imported by `mod.ts` before the generated code, whose message prototypes read the setting
 * when they are evaluated.
 * @module
 */
import protobuf from "protobufjs/minimal";

// deno-lint-ignore no-explicit-any
(protobuf.util as any).Long = undefined;
protobuf.configure();
