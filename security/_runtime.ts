/**
 * What the security stack needs from the Deno runtime beyond network and its own files.
 * @module
 */

/**
 * Environment variables read by the libraries this area loads (grpc-js reads its
 * `GRPC_*` settings; Casbin's `minimatch` probes one variable), for `--allow-env=…` in
 * the least-privilege permission flags. Without them the process stops with NotCapable
 * (already at import: grpc-js reads its settings when loaded). Deno also accepts the
 * shorter `--allow-env=GRPC_*,__MINIMATCH_TESTING_PLATFORM__`.
 */
export const RUNTIME_ENV_VARIABLES: readonly string[] = [
  "GRPC_DEFAULT_SSL_ROOTS_FILE_PATH",
  "GRPC_EXPERIMENTAL_ENABLE_OUTLIER_DETECTION",
  "GRPC_NODE_DEBUG_SEND_ERROR_DETAILS",
  "GRPC_NODE_TRACE",
  "GRPC_NODE_USE_ALTERNATIVE_RESOLVER",
  "GRPC_NODE_VERBOSITY",
  "GRPC_SSL_CIPHER_SUITES",
  "GRPC_TRACE",
  "GRPC_VERBOSITY",
  "__MINIMATCH_TESTING_PLATFORM__",
];
