/**
 * Certificate files on disk: `<name>.pem` for the certificate and `<name>-key.pem` for
 * the key, the key created 0600 so that only the node's user can read it.
 * @module
 */
import { SecurityError } from "./_errors.ts";
import type { IssuedCertificate } from "./_certs.ts";

/** The two files of one certificate. */
export interface CertificateFiles {
  readonly certFile: string;
  readonly keyFile: string;
}

/** The file names used for `name` inside `dir`. */
export function certificateFilesOf(dir: string, name: string): CertificateFiles {
  if (!/^[A-Za-z0-9._-]+$/.test(name) || name.startsWith(".")) {
    throw new SecurityError(
      "CERTS_INVALID",
      `Cannot name certificate files "${name}": use letters, digits, '.', '_' and '-'`,
    );
  }
  return { certFile: `${dir}/${name}.pem`, keyFile: `${dir}/${name}-key.pem` };
}

/**
 * Writes a certificate and its key. Each file is written to a temporary name and renamed
 * over the target, so a node watching the directory never reads half a file. The key is
 * created with mode 0600 (and chmod-ed, because a mode only applies on creation).
 */
export async function writeCertificateFiles(
  dir: string,
  name: string,
  issued: IssuedCertificate,
): Promise<CertificateFiles> {
  const files = certificateFilesOf(dir, name);
  await Deno.mkdir(dir, { recursive: true });
  await writeAtomically(files.keyFile, issued.keyPem, 0o600);
  await writeAtomically(files.certFile, issued.certPem, 0o644);
  return files;
}

/** Reads a certificate and key written by {@linkcode writeCertificateFiles}. */
export async function readCertificateFiles(files: CertificateFiles): Promise<IssuedCertificate> {
  return {
    certPem: await readText(files.certFile, "certificate"),
    keyPem: await readText(files.keyFile, "key"),
  };
}

/** Reads a PEM file, turning IO errors into a coded {@linkcode SecurityError}. */
export async function readText(path: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw new SecurityError("TLS_FILE_INVALID", `Cannot read ${what} file ${path}: ${error}`, {
      cause: error,
    });
  }
}

async function writeAtomically(path: string, text: string, mode: number): Promise<void> {
  const temporary = `${path}.tmp-${crypto.randomUUID()}`;
  try {
    await Deno.writeTextFile(temporary, text, { mode, createNew: true });
    if (Deno.build.os !== "windows") await Deno.chmod(temporary, mode);
    await Deno.rename(temporary, path);
  } catch (error) {
    await Deno.remove(temporary).catch(() => {});
    throw new SecurityError("CERTS_INVALID", `Cannot write ${path}: ${error}`, { cause: error });
  }
}
