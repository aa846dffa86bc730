/**
 * `strand certs`: creates a CA, node certificates and client certificates as PEM files,
 * in-process (no openssl needed). Keys are written 0600.
 * @module
 */
import { parseArgs } from "node:util";
import {
  certificateFilesOf,
  createCertificateAuthority,
  issueClientCertificate,
  type IssuedCertificate,
  issueNodeCertificate,
  readCertificateFiles,
  SecurityError,
  type ValidityOptions,
  writeCertificateFiles,
} from "../security/mod.ts";

/** Help text of the `certs` command. */
export const CERTS_HELP = `Usage:
  strand certs ca     --dir DIR [--common-name NAME] [--force]
  strand certs node   --dir DIR --name NAME [--dns NAME]... [--ip ADDRESS]...
  strand certs client --dir DIR --subject NAME [--name FILE_NAME]

Creates certificates as PEM files in DIR: <name>.pem and <name>-key.pem (mode 0600).
  ca      a certificate authority: DIR/ca.pem, DIR/ca-key.pem. Refuses to replace an
          existing CA unless --force (every certificate it signed would stop working).
  node    a node certificate signed by the CA, usable as server (client port) and as peer
          (server and client of other nodes). SANs: every --dns and --ip given.
  client  a client certificate whose Common Name is the ACL subject (--subject).

Options:
  --dir DIR              output directory (created if missing)
  --ca-cert-file FILE    CA certificate to sign with (default DIR/ca.pem)
  --ca-key-file FILE     CA key to sign with (default DIR/ca-key.pem)
  --days N               validity in days (default 365; CA 3650)
  --not-before ISO_DATE  start of validity (default: five minutes ago)
  --not-after ISO_DATE   end of validity (wins over --days)
  -h, --help             this text

Example:
  strand certs ca --dir certs
  strand certs node --dir certs --name node-1 --dns localhost --ip 127.0.0.1
  strand certs client --dir certs --subject root
`;

const OPTIONS = {
  dir: { type: "string" },
  name: { type: "string" },
  subject: { type: "string" },
  "common-name": { type: "string" },
  dns: { type: "string", multiple: true },
  ip: { type: "string", multiple: true },
  "ca-cert-file": { type: "string" },
  "ca-key-file": { type: "string" },
  days: { type: "string" },
  "not-before": { type: "string" },
  "not-after": { type: "string" },
  force: { type: "boolean" },
  help: { type: "boolean", short: "h" },
} as const;

/** A bad command line: exit code 2 and the help text. */
class UsageError extends Error {}

type ParsedValues = ReturnType<typeof parseCertsArgs>["values"];

function parseCertsArgs(args: string[]) {
  return parseArgs({ args, options: OPTIONS, allowPositionals: true, strict: true });
}

/**
 * Runs `strand certs …`; returns the process exit code (0 done, 1 failed, 2 usage).
 *
 * @example
 * ```ts
 * await runCerts(["ca", "--dir", "certs"]); // 0
 * ```
 */
export async function runCerts(args: string[]): Promise<number> {
  let parsed: ReturnType<typeof parseCertsArgs>;
  try {
    parsed = parseCertsArgs(args);
  } catch (error) {
    console.error(`strand certs: ${error instanceof Error ? error.message : error}\n`);
    console.error(CERTS_HELP);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    console.log(CERTS_HELP);
    return 0;
  }
  const [kind, ...extra] = positionals;
  if (kind === undefined || extra.length > 0 || values.dir === undefined) {
    console.error("strand certs: give one of ca, node, client and --dir\n");
    console.error(CERTS_HELP);
    return 2;
  }
  try {
    const written = await createFor(kind, values.dir, values);
    for (const file of written) console.log(file);
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`strand certs: ${error.message}\n\n${CERTS_HELP}`);
      return 2;
    }
    if (!(error instanceof SecurityError)) throw error;
    console.error(`strand certs: ${error.message}`);
    return 1;
  }
}

async function createFor(kind: string, dir: string, values: ParsedValues): Promise<string[]> {
  switch (kind) {
    case "ca":
      return await createCa(dir, values);
    case "node": {
      const name = required(values.name, "--name");
      const issued = issueNodeCertificate(await readCa(dir, values), {
        commonName: name,
        dnsNames: values.dns ?? [],
        ipAddresses: values.ip ?? [],
        ...validityFrom(values, 365),
      });
      return await write(dir, name, await issued);
    }
    case "client": {
      const subject = required(values.subject, "--subject");
      const issued = await issueClientCertificate(await readCa(dir, values), {
        subject,
        ...validityFrom(values, 365),
      });
      return await write(dir, values.name ?? subject, issued);
    }
    default:
      throw new UsageError(`unknown kind "${kind}"; use ca, node or client`);
  }
}

async function createCa(dir: string, values: ParsedValues): Promise<string[]> {
  const files = certificateFilesOf(dir, "ca");
  if (values.force !== true && (await exists(files.certFile) || await exists(files.keyFile))) {
    throw new SecurityError(
      "CERTS_INVALID",
      `Cannot create a CA in ${dir}: ${files.certFile} exists (use --force to replace it; ` +
        "every certificate it signed would stop working)",
    );
  }
  const options = { ...validityFrom(values, 3650) };
  const issued = await createCertificateAuthority(
    values["common-name"] === undefined
      ? options
      : { ...options, commonName: values["common-name"] },
  );
  return await write(dir, "ca", issued);
}

async function readCa(dir: string, values: ParsedValues): Promise<IssuedCertificate> {
  const defaults = certificateFilesOf(dir, "ca");
  return await readCertificateFiles({
    certFile: values["ca-cert-file"] ?? defaults.certFile,
    keyFile: values["ca-key-file"] ?? defaults.keyFile,
  });
}

async function write(dir: string, name: string, issued: IssuedCertificate): Promise<string[]> {
  const files = await writeCertificateFiles(dir, name, issued);
  return [files.certFile, files.keyFile];
}

function validityFrom(values: ParsedValues, defaultDays: number): ValidityOptions {
  const validity: ValidityOptions = { validDays: defaultDays };
  if (values.days !== undefined) {
    const days = Number(values.days);
    if (!Number.isInteger(days) || days <= 0) {
      throw new UsageError(`--days ${values.days} is not a positive integer`);
    }
    validity.validDays = days;
  }
  if (values["not-before"] !== undefined) {
    validity.notBefore = date(values["not-before"], "--not-before");
  }
  if (values["not-after"] !== undefined) {
    validity.notAfter = date(values["not-after"], "--not-after");
  }
  return validity;
}

function date(text: string, flag: string): Date {
  const value = new Date(text);
  if (Number.isNaN(value.getTime())) {
    throw new UsageError(`${flag} ${text} is not an ISO date`);
  }
  return value;
}

function required(value: string | undefined, flag: string): string {
  if (value === undefined || value === "") {
    throw new UsageError(`${flag} is required`);
  }
  return value;
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.lstat(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

// Runnable on its own (`deno task security:certs …`) as well as through `strand certs`.
if (import.meta.main) Deno.exit(await runCerts(Deno.args));
