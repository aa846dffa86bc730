import { AuthorizationError, Authorizer, SecurityError } from "../../security/mod.ts";
import {
  assert,
  assertEquals,
  assertRejects,
  BOOK_MODEL_FILE,
  BOOK_POLICY_FILE,
} from "./_helpers.ts";

const bookModel = await Deno.readTextFile(BOOK_MODEL_FILE);

Deno.test("acl: the book's files allow root to produce and consume, and nothing else", async () => {
  const acl = await Authorizer.fromFiles({
    modelFile: BOOK_MODEL_FILE,
    policyFile: BOOK_POLICY_FILE,
  });
  assert(acl.can("root", "produce"));
  assert(acl.can("root", "consume"));
  assert(!acl.can("root", "admin"), "admin is not granted by the book's policy");
  assert(!acl.can("nobody", "produce"));
  assert(!acl.can("nobody", "consume"));
  assert(!acl.can("", "produce"), "an anonymous caller is denied");
});

Deno.test("acl: a denial names subject and action", async () => {
  const acl = await Authorizer.fromFiles({
    modelFile: BOOK_MODEL_FILE,
    policyFile: BOOK_POLICY_FILE,
  });
  acl.authorize("root", "produce");
  let caught: unknown;
  try {
    acl.authorize("nobody", "consume");
  } catch (error) {
    caught = error;
  }
  assert(caught instanceof AuthorizationError, "an AuthorizationError");
  assertEquals(caught.code, "PERMISSION_DENIED");
  assertEquals([caught.subject, caught.action], ["nobody", "consume"]);
  assertEquals(caught.message, 'Cannot consume as "nobody": the ACL does not allow it');
});

Deno.test("acl: a consume-only policy denies produce", async () => {
  const acl = await Authorizer.fromText(bookModel, "p, reader, *, consume\n");
  assert(acl.can("reader", "consume"));
  assert(!acl.can("reader", "produce"));
});

Deno.test("acl: an empty policy denies everything", async () => {
  const acl = await Authorizer.fromText(bookModel, "# nobody yet\n\n");
  assert(!acl.can("root", "produce"));
});

Deno.test("acl: malformed policy lines are refused instead of silently ignored", async () => {
  const broken = [
    "p, root\n",
    "p, root, *, produce, extra\n",
    "q, root, *, produce\n",
    "p, root, , produce\n",
    'p, "root", *, produce\n',
    "this is not a rule\n",
  ];
  for (const policy of broken) {
    const error = await assertRejects(() => Authorizer.fromText(bookModel, policy, "policy.csv"));
    assert(error instanceof SecurityError, `SecurityError for ${JSON.stringify(policy)}`);
    assertEquals(error.code, "ACL_FILE_INVALID");
    assert(error.message.includes("policy.csv line 1"), error.message);
  }
});

Deno.test("acl: a broken model or a missing file is refused", async () => {
  const models = [
    "[matchers]\nm = r.sub == p.sub\n",
    bookModel.replace("r.act == p.act", "r.act == p.act && ("),
  ];
  for (const model of models) {
    const error = await assertRejects(() => Authorizer.fromText(model, "p, root, *, produce\n"));
    assertEquals((error as SecurityError).code, "ACL_FILE_INVALID");
  }
  const missing = await assertRejects(() =>
    Authorizer.fromFiles({ modelFile: BOOK_MODEL_FILE, policyFile: "/nonexistent/policy.csv" })
  );
  assertEquals((missing as SecurityError).code, "ACL_FILE_INVALID");
});

Deno.test("acl: a model without object field works with (sub, act) requests", async () => {
  const model = bookModel
    .replaceAll("sub, obj, act", "sub, act")
    .replace(
      "r.sub == p.sub && r.obj == p.obj && r.act == p.act",
      "r.sub == p.sub && r.act == p.act",
    );
  const acl = await Authorizer.fromText(model, "p, ops, admin\n");
  assert(acl.can("ops", "admin"));
  assert(!acl.can("ops", "produce"));
});

Deno.test("acl: role rules (g) from an RBAC model are honoured", async () => {
  const model = bookModel
    .replace("[policy_effect]", "[role_definition]\ng = _, _\n\n[policy_effect]")
    .replace("r.sub == p.sub", "g(r.sub, p.sub)");
  const acl = await Authorizer.fromText(model, "p, writers, *, produce\ng, alice, writers\n");
  assert(acl.can("alice", "produce"));
  assert(!acl.can("bob", "produce"));
});
