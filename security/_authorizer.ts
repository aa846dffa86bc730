/**
 * The ACL: Casbin with the book's model and policy files, unchanged
 * (`p, root, *, produce` / `p, root, *, consume`). Deny by default. Files are read by
 * us (not by Casbin) and each policy line is checked against the model, because Casbin
 * silently accepts lines with missing or extra fields — a typo must not become a silent
 * change of who may write.
 * @module
 */
import { type Enforcer, newEnforcer, newModelFromString, StringAdapter } from "casbin";
import { type Action, AuthorizationError, SecurityError } from "./_errors.ts";
import { ANONYMOUS_SUBJECT } from "./_subject.ts";

/** The book's object wildcard: Strand has one log, so every rule names object `*`. */
export const OBJECT_WILDCARD = "*";

/** Where the ACL comes from. */
export interface AclFiles {
  readonly modelFile: string;
  readonly policyFile: string;
}

/**
 * Decides whether a subject may perform an action.
 *
 * @example
 * ```ts
 * const acl = await Authorizer.fromFiles({ modelFile: "model.conf", policyFile: "policy.csv" });
 * acl.authorize("root", "produce"); // passes
 * acl.authorize("nobody", "produce"); // throws AuthorizationError
 * ```
 */
export class Authorizer {
  readonly #enforcer: Enforcer;
  readonly #requestArity: 2 | 3;
  /** The policy rules in force, for logs and tests. */
  readonly rules: readonly (readonly string[])[];

  private constructor(enforcer: Enforcer, requestArity: 2 | 3, rules: string[][]) {
    this.#enforcer = enforcer;
    this.#requestArity = requestArity;
    this.rules = rules;
  }

  /** Reads and validates the model and policy files. Throws `ACL_FILE_INVALID`. */
  static async fromFiles(files: AclFiles): Promise<Authorizer> {
    const modelText = await readAclFile(files.modelFile, "model");
    const policyText = await readAclFile(files.policyFile, "policy");
    return await Authorizer.fromText(modelText, policyText, files.policyFile);
  }

  /** Builds an authorizer from model and policy text; `source` names them in errors. */
  static async fromText(
    modelText: string,
    policyText: string,
    source = "policy",
  ): Promise<Authorizer> {
    let enforcer: Enforcer;
    try {
      enforcer = await newEnforcer(newModelFromString(modelText));
    } catch (error) {
      throw aclError(`Cannot load the ACL model: ${error}`, error);
    }
    const requestArity = requestArityOf(enforcer);
    const rules = parsePolicy(policyText, enforcer, source);
    try {
      // Casbin's StringAdapter parses what we validated; loading through it keeps
      // Casbin's own handling of role definitions (g lines) and indexes.
      if (rules.length > 0) {
        enforcer.setAdapter(new StringAdapter(rules.map((line) => line.join(", ")).join("\n")));
        await enforcer.loadPolicy();
      }
      // Evaluate once now: a matcher that only fails when evaluated fails here, not on
      // the first request after a reload.
      enforcer.enforceSync(...requestOf(requestArity, "strand-probe", "produce"));
    } catch (error) {
      throw aclError(`Cannot load the ACL from ${source}: ${error}`, error);
    }
    return new Authorizer(enforcer, requestArity, rules);
  }

  /** True when the policy allows `subject` to perform `action`. Anonymous: never. */
  can(subject: string, action: Action): boolean {
    if (subject === ANONYMOUS_SUBJECT) return false;
    return this.#enforcer.enforceSync(...requestOf(this.#requestArity, subject, action));
  }

  /** Throws {@linkcode AuthorizationError} naming subject and action unless allowed. */
  authorize(subject: string, action: Action): void {
    if (!this.can(subject, action)) throw new AuthorizationError(subject, action);
  }
}

function requestOf(arity: 2 | 3, subject: string, action: Action): string[] {
  return arity === 3 ? [subject, OBJECT_WILDCARD, action] : [subject, action];
}

function requestArityOf(enforcer: Enforcer): 2 | 3 {
  const tokens = enforcer.getModel().model.get("r")?.get("r")?.tokens ?? [];
  if (tokens.length === 2 || tokens.length === 3) return tokens.length;
  throw aclError(
    `Cannot use the ACL model: its request has ${tokens.length} fields, expected ` +
      "(sub, obj, act) or (sub, act)",
  );
}

/** Splits the policy into rules and checks each against the model's definitions. */
function parsePolicy(text: string, enforcer: Enforcer, source: string): string[][] {
  const model = enforcer.getModel().model;
  const fieldCounts = new Map<string, number>();
  for (const [key, assertion] of model.get("p") ?? []) {
    fieldCounts.set(key, assertion.tokens.length);
  }
  for (const [key, assertion] of model.get("g") ?? []) {
    fieldCounts.set(key, assertion.value.split(",").length);
  }
  const rules: string[][] = [];
  const lines = text.split(/\r?\n/);
  for (const [lineIndex, raw] of lines.entries()) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) continue;
    const where = `${source} line ${lineIndex + 1}`;
    if (line.includes('"')) {
      throw aclError(`Cannot load ${where}: quoted fields are not supported`);
    }
    const fields = line.split(",").map((field) => field.trim());
    const kind = fields[0] ?? "";
    const expected = fieldCounts.get(kind);
    if (expected === undefined) {
      throw aclError(`Cannot load ${where}: "${kind}" is not a rule type of the model`);
    }
    if (fields.length - 1 !== expected || fields.some((field) => field === "")) {
      throw aclError(
        `Cannot load ${where}: "${line}" has ${fields.length - 1} non-empty fields, ` +
          `the model's "${kind}" has ${expected}`,
      );
    }
    rules.push(fields);
  }
  return rules;
}

/** Reads an ACL file, turning IO errors into `ACL_FILE_INVALID`. */
export async function readAclFile(path: string, what: string): Promise<string> {
  try {
    return await Deno.readTextFile(path);
  } catch (error) {
    throw aclError(`Cannot read ACL ${what} file ${path}: ${error}`, error);
  }
}

function aclError(message: string, cause?: unknown): SecurityError {
  return new SecurityError("ACL_FILE_INVALID", message, cause === undefined ? {} : { cause });
}
