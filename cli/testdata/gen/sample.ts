// A program written against the client `loam gen ts` generates, compiled
// with tsc and run with node by TestCLIGenTS against a live server. The
// lines marked @ts-expect-error must not compile: tsc fails if one does.
import { Client, LoamError } from "./client.js";
import type { PostsRecord, UsersRecord } from "./types.js";

declare const process: { argv: string[] };
const [base = "", email = "", password = ""] = process.argv.slice(2);

// expectError prints the status and code of the LoamError that call throws.
async function expectError(what: string, call: () => Promise<unknown>): Promise<void> {
  try {
    await call();
    console.log(what + ": no error");
  } catch (e) {
    if (!(e instanceof LoamError)) throw e;
    console.log(`${what}: ${e.status} ${e.code} ${Object.keys(e.errors ?? {}).sort().join(",")}`.trimEnd());
  }
}

const admin = new Client(base);
const auth = await admin.authWithPassword("_superusers", email, password);
console.log("signed in:", auth.record.email);
const anon = new Client(base + "/");

const ada = await admin.collection("users").create({
  email: "ada@example.com",
  password: "a long password",
  name: "Ada",
  notes: "likes tea",
});
console.log("user:", ada.name, ada.role, ada.notes);
const seen = await anon.collection("users").get(ada.id);
console.log("others see notes:", "notes" in seen);

const posts = anon.collection("posts");
const post = await posts.create({ title: "Hello, types", author: ada.id, editors: [ada.id], tags: ["go", "sql"], views: 3, meta: { n: [1, 2] } });
console.log("created:", post.title, post.status, post.tags.join("+"), post.views, JSON.stringify(post.meta));
await posts.create({ title: "Second", author: ada.id, editors: [ada.id], views: 10 });
const third = await posts.create({ title: "Third", author: ada.id, editors: [ada.id], views: 20 }, {}, { idempotencyKey: "third" });
const again = await posts.create({ title: "Third", author: ada.id, editors: [ada.id], views: 20 }, {}, { idempotencyKey: "third" });

const page = await posts.list({ filter: "views >= 3", sort: "-views", perPage: 2, skipTotal: true, expand: "author", fields: "id,title,views,expand.author.name" });
console.log("page:", page.items.map((p) => `${p.title}/${p.views}`).join(", "), page.totalItems, JSON.stringify(page.items[0]?.expand));
const next = await posts.list({ filter: "views >= 3", sort: "-views", perPage: 2, cursor: page.nextCursor });
console.log("next:", next.items.map((p) => p.title).join(", "), next.page, next.totalItems);
console.log("replayed:", again.id === third.id);

const got = await posts.get(post.id, { expand: "author", fields: "title,expand.author.role" });
console.log("got:", got.title, JSON.stringify(got.expand));
const changed = await posts.update(post.id, { status: "live", views: 4 });
console.log("updated:", changed.status, changed.views);

const groups = await posts.aggregate({ groupBy: "status", count: true, sum: "views" });
console.log("aggregate:", groups.items.map((g) => `${g.group["status"]}:${g.count}:${g.sum?.views}`).join(" "));

await admin.collection("posts").delete(post.id);
await expectError("deleted", () => posts.get(post.id));
await expectError("bad filter", () => posts.list({ filter: "views >" }));
await expectError("invalid", () => posts.create({ title: "", author: ada.id }));
await expectError("superusers only", () => anon.collection("audit").list());
await expectError("stale", () => admin.collection("posts").update(again.id, { views: 1 }, {}, { ifMatch: '"nope"' }));

// Never called: each marked line must be a type error.
function typeChecks(c: Client, r: PostsRecord, u: UsersRecord): unknown[] {
  // @ts-expect-error title is text
  void c.collection("posts").create({ title: 5, author: "x" });
  // @ts-expect-error status is draft or live
  void c.collection("posts").update("x", { status: "archived" });
  // @ts-expect-error posts has no such field
  void c.collection("posts").update("x", { nope: 1 });
  // @ts-expect-error title and author are required
  void c.collection("posts").create({ views: 1 });
  // @ts-expect-error there is no such collection
  void c.collection("nope");
  // @ts-expect-error posts is not an auth collection
  void c.authWithPassword("posts", "a", "b");
  // @ts-expect-error perPage is a number
  void c.collection("posts").list({ perPage: "10" });
  // @ts-expect-error ids are read-only
  r.id = "x";
  // @ts-expect-error notes is hidden: only superusers receive it
  const notes: string | null = u.notes;
  const views: number | null = r.views;
  const tags: Array<"go" | "sql" | "web"> = r.tags;
  return [notes, views, tags];
}
void typeChecks;
