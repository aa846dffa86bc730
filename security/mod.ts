/**
 * Security of a Strand node: TLS and mutual TLS for the client port (gRPC and HTTPS) and
 * for peers, the subject of a caller (its client certificate's Common Name), the Casbin
 * ACL (`produce`, `consume`, `admin`; deny by default), certificate tooling, and reload
 * without restart on SIGHUP and on file change.
 *
 * @example
 * ```ts
 * import { SecurityState, subjectOfGrpcCall } from "../security/mod.ts";
 *
 * const security = await SecurityState.load({
 *   serverTls: { certFile: "node.pem", keyFile: "node-key.pem", caFile: "ca.pem" },
 *   acl: { modelFile: "model.conf", policyFile: "policy.csv" },
 * });
 * for (const warning of security.insecureWarnings()) logger.warn(warning);
 * server.bindAsync(address, security.grpcServerCredentials(), callback);
 * security.watch();
 * // in a handler: throws AuthorizationError → PERMISSION_DENIED
 * security.authorize(subjectOfGrpcCall(call), "produce");
 * ```
 * @module
 */
export {
  type Action,
  ACTIONS,
  AuthorizationError,
  SecurityError,
  type SecurityErrorCode,
} from "./_errors.ts";
export {
  type CertificateAuthorityOptions,
  type CertificateSummary,
  type ClientCertificateOptions,
  createCertificateAuthority,
  describeCertificate,
  issueClientCertificate,
  type IssuedCertificate,
  issueNodeCertificate,
  type NodeCertificateOptions,
  type ValidityOptions,
} from "./_certs.ts";
export {
  type CertificateFiles,
  certificateFilesOf,
  readCertificateFiles,
  writeCertificateFiles,
} from "./_cert_files.ts";
export {
  type ClientTlsFiles,
  type ClientTlsMaterial,
  grpcChannelCredentials,
  grpcChannelOptions,
  grpcServerCredentials,
  httpsClientOptions,
  httpsServerOptions,
  loadClientTlsMaterial,
  loadTlsMaterial,
  ReloadableServerCredentials,
  secureContextOptions,
  type TlsFiles,
  type TlsMaterial,
} from "./_tls.ts";
export { PeerTls } from "./_peer.ts";
export {
  ANONYMOUS_SUBJECT,
  type CallWithAuthContext,
  type GrpcAuthContext,
  subjectOfGrpcCall,
  subjectOfHttpsRequest,
} from "./_subject.ts";
export { type AclFiles, Authorizer, OBJECT_WILDCARD } from "./_authorizer.ts";
export { RUNTIME_ENV_VARIABLES } from "./_runtime.ts";
export {
  CLIENT_SECURITY_FLAGS,
  CLIENT_SECURITY_HELP,
  type ClientGrpcSecurity,
  clientTlsFilesFromFlags,
  type FlagValues,
  loadClientGrpcSecurity,
  securityFilesFromFlags,
  SERVE_SECURITY_FLAGS,
  SERVE_SECURITY_HELP,
} from "./_flags.ts";
export type { SecurityLogger } from "./_watch.ts";
export {
  type ReloadOutcome,
  type SecureContextTarget,
  type SecurityFiles,
  type SecurityPart,
  SecurityState,
  type SecurityStateOptions,
} from "./_security_state.ts";
