/**
 * Certificate tooling: a CA, node certificates (server + peer), client certificates,
 * all ECDSA P-256 / SHA-256 — the one key type that Deno's node:tls (rustls underneath),
 * grpc-js and node:https all accept and that WebCrypto can generate and sign with.
 * @module
 */
import "./_reflect_metadata.ts";
import * as x509 from "@peculiar/x509";
import { SecurityError } from "./_errors.ts";

const KEY_ALGORITHM = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const DAY_MS = 24 * 60 * 60 * 1000;
/** Backdating absorbs clock skew between the issuing machine and the nodes. */
const BACKDATE_MS = 5 * 60 * 1000;

/** A certificate and its private key, both PEM. */
export interface IssuedCertificate {
  /** The certificate, PEM ("CERTIFICATE"). */
  readonly certPem: string;
  /** The private key, PEM PKCS#8 ("PRIVATE KEY"). Keep it secret (files are 0600). */
  readonly keyPem: string;
}

/** When a certificate is valid. Defaults: from a few minutes ago for `validDays`. */
export interface ValidityOptions {
  /** Length of validity in days when `notAfter` is not given. Default 365. */
  validDays?: number;
  /** Start of validity. Default: now minus five minutes. */
  notBefore?: Date;
  /** End of validity; wins over `validDays`. Tests use a past date for an expired cert. */
  notAfter?: Date;
}

/** Options of {@linkcode createCertificateAuthority}. */
export interface CertificateAuthorityOptions extends ValidityOptions {
  /** Common Name of the CA. Default "Strand CA". */
  commonName?: string;
}

/** Options of {@linkcode issueNodeCertificate}. */
export interface NodeCertificateOptions extends ValidityOptions {
  /** Common Name; also the subject when the node calls another node. */
  commonName: string;
  /** DNS names the node is reached by (subjectAltName dNSName). */
  dnsNames?: readonly string[];
  /** IP addresses the node is reached by (subjectAltName iPAddress). */
  ipAddresses?: readonly string[];
}

/** Options of {@linkcode issueClientCertificate}. */
export interface ClientCertificateOptions extends ValidityOptions {
  /** The subject the ACL sees: becomes the certificate's Common Name. */
  subject: string;
}

/**
 * Creates a self-signed certificate authority.
 *
 * @example
 * ```ts
 * const ca = await createCertificateAuthority({ commonName: "Strand CA" });
 * ca.certPem.startsWith("-----BEGIN CERTIFICATE-----"); // true
 * ```
 */
export async function createCertificateAuthority(
  options: CertificateAuthorityOptions = {},
): Promise<IssuedCertificate> {
  const keys = await generateKeys();
  const validity = validityOf(options);
  const certificate = await x509.X509CertificateGenerator.createSelfSigned({
    name: distinguishedName(options.commonName ?? "Strand CA"),
    keys,
    signingAlgorithm: KEY_ALGORITHM,
    ...validity,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: certificate.toString("pem"), keyPem: await exportKeyPem(keys.privateKey) };
}

/**
 * Issues a node certificate: usable as TLS server (client port, peer port) and as TLS
 * client towards other nodes, with SANs for every DNS name and IP it is reached by.
 */
export function issueNodeCertificate(
  ca: IssuedCertificate,
  options: NodeCertificateOptions,
): Promise<IssuedCertificate> {
  const names: x509.JsonGeneralName[] = [];
  for (const dns of options.dnsNames ?? []) names.push({ type: "dns", value: dns });
  for (const ip of options.ipAddresses ?? []) names.push({ type: "ip", value: checkIp(ip) });
  if (names.length === 0) {
    throw new SecurityError(
      "CERTS_INVALID",
      `Cannot issue node certificate "${options.commonName}": give at least one DNS name or IP`,
    );
  }
  return issueLeaf(ca, options.commonName, options, [
    new x509.ExtendedKeyUsageExtension([
      x509.ExtendedKeyUsage.serverAuth,
      x509.ExtendedKeyUsage.clientAuth,
    ]),
    new x509.SubjectAlternativeNameExtension(names),
  ]);
}

/** Issues a client certificate whose Common Name is the ACL subject. */
export function issueClientCertificate(
  ca: IssuedCertificate,
  options: ClientCertificateOptions,
): Promise<IssuedCertificate> {
  return issueLeaf(ca, options.subject, options, [
    new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
  ]);
}

/** What {@linkcode describeCertificate} reports. */
export interface CertificateSummary {
  /** Common Name of the subject ("" when absent). */
  readonly commonName: string;
  /** Common Name of the issuer ("" when absent). */
  readonly issuerCommonName: string;
  readonly notBefore: Date;
  readonly notAfter: Date;
  /** DER SubjectPublicKeyInfo, to match a private key against the certificate. */
  readonly publicKeyDer: Uint8Array;
}

/** Parses the first certificate of a PEM text; throws `TLS_FILE_INVALID` if there is none. */
export function describeCertificate(certPem: string, what = "certificate"): CertificateSummary {
  let certificate: x509.X509Certificate;
  try {
    certificate = new x509.X509Certificate(certPem);
  } catch (error) {
    throw new SecurityError("TLS_FILE_INVALID", `Cannot parse ${what}: ${String(error)}`, {
      cause: error,
    });
  }
  return {
    commonName: certificate.subjectName.getField("CN")[0] ?? "",
    issuerCommonName: certificate.issuerName.getField("CN")[0] ?? "",
    notBefore: certificate.notBefore,
    notAfter: certificate.notAfter,
    publicKeyDer: new Uint8Array(certificate.publicKey.rawData),
  };
}

async function issueLeaf(
  ca: IssuedCertificate,
  commonName: string,
  validityOptions: ValidityOptions,
  extensions: x509.Extension[],
): Promise<IssuedCertificate> {
  const caCertificate = new x509.X509Certificate(ca.certPem);
  const caKey = await importSigningKey(ca.keyPem);
  const keys = await generateKeys();
  const certificate = await x509.X509CertificateGenerator.create({
    subject: distinguishedName(commonName),
    issuer: caCertificate.subject,
    publicKey: keys.publicKey,
    signingKey: caKey,
    signingAlgorithm: KEY_ALGORITHM,
    ...validityOf(validityOptions),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      await x509.AuthorityKeyIdentifierExtension.create(caCertificate),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ...extensions,
    ],
  });
  return { certPem: certificate.toString("pem"), keyPem: await exportKeyPem(keys.privateKey) };
}

function validityOf(options: ValidityOptions): { notBefore: Date; notAfter: Date } {
  const notBefore = options.notBefore ?? new Date(Date.now() - BACKDATE_MS);
  const validDays = options.validDays ?? 365;
  if (!(validDays > 0) || !Number.isFinite(validDays)) {
    throw new SecurityError("CERTS_INVALID", `Cannot issue certificate: days ${validDays} ≤ 0`);
  }
  const notAfter = options.notAfter ?? new Date(notBefore.getTime() + validDays * DAY_MS);
  if (notAfter.getTime() <= notBefore.getTime()) {
    throw new SecurityError("CERTS_INVALID", "Cannot issue certificate: it ends before it starts");
  }
  return { notBefore, notAfter };
}

/** Builds "CN=…" through the library so that commas or quotes in a name stay one value. */
function distinguishedName(commonName: string): x509.Name {
  if (commonName.length === 0 || commonName.length > 64) {
    throw new SecurityError(
      "CERTS_INVALID",
      `Cannot issue certificate for "${commonName}": a Common Name has 1 to 64 characters`,
    );
  }
  return new x509.Name([{ CN: [commonName] }]);
}

function checkIp(ip: string): string {
  const v4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  const v4Valid = v4 !== null && v4.slice(1).every((part) => Number(part) <= 255);
  if (!v4Valid && !(ip.includes(":") && /^[0-9a-fA-F:.]+$/.test(ip))) {
    throw new SecurityError("CERTS_INVALID", `Cannot use "${ip}" as an IP SAN: not an IP address`);
  }
  return ip;
}

async function generateKeys(): Promise<CryptoKeyPair> {
  return await crypto.subtle.generateKey(KEY_ALGORITHM, true, ["sign", "verify"]);
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = await crypto.subtle.exportKey("pkcs8", key);
  return x509.PemConverter.encode(der, "PRIVATE KEY");
}

async function importSigningKey(keyPem: string): Promise<CryptoKey> {
  try {
    const der = x509.PemConverter.decodeFirst(keyPem);
    return await crypto.subtle.importKey("pkcs8", der, KEY_ALGORITHM, false, ["sign"]);
  } catch (error) {
    throw new SecurityError(
      "CERTS_INVALID",
      `Cannot use the CA key: expected an ECDSA P-256 PKCS#8 PEM key (${String(error)})`,
      { cause: error },
    );
  }
}
