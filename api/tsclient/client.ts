// A typed fetch client of a Loam API, written by `loam gen ts` next to
// types.ts, which holds the types of the live schema. It needs a global fetch
// (browsers, Node.js 18 and later, Deno, Bun) or one passed in the options.
// Optional parameters take undefined too, also under exactOptionalPropertyTypes.
//
//   const loam = new Client("http://127.0.0.1:8090");
//   await loam.authWithPassword("_superusers", email, password);
//   const page = await loam.collection("posts").list({ filter: 'views > 10', sort: "-created" });

import type { ApiError, AuthCollectionTypes, CollectionTypes } from "./types.js";

/** The query parameters of a list (docs/API.md, "Lists"). */
export interface ListParams {
  /** Only the records the expression holds for, in the filter language: `views > 500 && title ~ "go"`. */
  filter?: string | undefined;
  /** Comma-separated sort keys, `-` in front for descending: `-created,title`; or `@random`. */
  sort?: string | undefined;
  /** The page, from 1. */
  page?: number | undefined;
  /** Records per page (default 30). */
  perPage?: number | undefined;
  /** true to skip counting: totalItems and totalPages are then -1. */
  skipTotal?: boolean | undefined;
  /** The nextCursor of the previous page, with the same sort: the next page in constant time. Not with page. */
  cursor?: string | undefined;
  /** Comma-separated relation paths whose records come under `expand`: `author,comments_via_post`. */
  expand?: string | undefined;
  /** Comma-separated members to answer (`id,title,expand.author.name`); the others are left out, although the types have them. */
  fields?: string | undefined;
}

/** The query parameters of a request that answers one record. */
export interface RecordParams {
  expand?: string | undefined;
  fields?: string | undefined;
}

/** The headers of a write. */
export interface WriteOptions {
  /** Write only if the record's ETag is this one (`*` for any version); else 412. */
  ifMatch?: string | undefined;
  /** A retry with the same key within 24 h answers as the first request did and writes nothing. */
  idempotencyKey?: string | undefined;
}

/** The query parameters of an aggregate (docs/API.md, "Aggregates"). */
export interface AggregateParams {
  filter?: string | undefined;
  /** Comma-separated fields or relation paths; dates by bucket with :day, :week, :month or :year. */
  groupBy?: string | undefined;
  count?: boolean | undefined;
  sum?: string | undefined;
  avg?: string | undefined;
  min?: string | undefined;
  max?: string | undefined;
}

/** An answer of status 400 or above: the error object of the API. */
export class LoamError extends Error {
  /** The HTTP status. */
  readonly status: number;
  /** Stable: switch on it. */
  readonly code: ApiError["code"];
  /** Present when fields are at fault, keyed by field name. */
  readonly errors: ApiError["errors"];

  constructor(readonly body: ApiError) {
    super(body.message);
    this.name = "LoamError";
    this.status = body.status;
    this.code = body.code;
    this.errors = body.errors;
  }
}

export interface ClientOptions {
  /** A session token, sent as `Authorization: Bearer <token>`; authWithPassword sets it. */
  token?: string | undefined;
  /** The fetch to use; the global one by default. */
  fetch?: typeof fetch | undefined;
}

type Query = { [name: string]: string | number | boolean | undefined };

/** A client of one Loam server. */
export class Client {
  /** The server, such as `http://127.0.0.1:8090`. */
  readonly baseURL: string;
  /** The session token sent with every request, if any. */
  token: string | undefined;
  private readonly fetcher: typeof fetch;

  constructor(baseURL: string, options: ClientOptions = {}) {
    this.baseURL = baseURL.replace(/\/+$/, "");
    this.token = options.token;
    this.fetcher = options.fetch ?? ((input, init) => fetch(input, init));
  }

  /** The records of a collection. */
  collection<C extends keyof CollectionTypes>(name: C): Records<C> {
    return new Records(this, name);
  }

  /** Signs in to an auth collection; the client then sends the token with every request. */
  async authWithPassword<C extends keyof AuthCollectionTypes>(
    collection: C,
    identity: string,
    password: string,
  ): Promise<AuthCollectionTypes[C]> {
    const auth = await this.send<AuthCollectionTypes[C]>(
      "POST",
      `/api/collections/${encodeURIComponent(collection)}/auth/password`,
      { body: { identity, password } },
    );
    this.token = (auth as { token: string }).token;
    return auth;
  }

  /**
   * Sends one request and answers its JSON body (undefined for 204). An
   * answer of 400 and above throws a LoamError; a failure to reach the
   * server, or an error answer that is not JSON, throws an Error.
   */
  async send<T>(
    method: string,
    path: string,
    options: { query?: Query; body?: unknown; headers?: { [name: string]: string | undefined } } = {},
  ): Promise<T> {
    const params = new URLSearchParams();
    for (const [name, value] of Object.entries(options.query ?? {})) {
      if (value === undefined) continue;
      params.append(name, typeof value === "boolean" ? (value ? "1" : "0") : String(value));
    }
    const query = params.toString();
    const headers: { [name: string]: string } = { Accept: "application/json" };
    for (const [name, value] of Object.entries(options.headers ?? {})) {
      if (value !== undefined) headers[name] = value;
    }
    if (this.token) headers["Authorization"] = `Bearer ${this.token}`;
    let body: string | null = null;
    if (options.body !== undefined) {
      headers["Content-Type"] = "application/json";
      body = JSON.stringify(options.body);
    }
    const response = await this.fetcher(this.baseURL + path + (query ? `?${query}` : ""), { method, headers, body });
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    let json: unknown;
    try {
      json = text === "" ? undefined : JSON.parse(text);
    } catch {
      throw new Error(`${method} ${path}: ${response.status} ${response.statusText}, not JSON`);
    }
    if (!response.ok) {
      if (typeof json === "object" && json !== null && "code" in json) throw new LoamError(json as ApiError);
      throw new Error(`${method} ${path}: ${response.status} ${response.statusText}`);
    }
    return json as T;
  }
}

/** The record routes of one collection. */
export class Records<C extends keyof CollectionTypes> {
  constructor(
    private readonly client: Client,
    readonly name: C,
  ) {}

  private path(id?: string): string {
    const base = `/api/collections/${encodeURIComponent(this.name)}/records`;
    return id === undefined ? base : `${base}/${encodeURIComponent(id)}`;
  }

  /** A page of records. */
  list(params: ListParams = {}): Promise<CollectionTypes[C]["list"]> {
    return this.client.send("GET", this.path(), { query: { ...params } });
  }

  /** One record. */
  get(id: string, params: RecordParams = {}): Promise<CollectionTypes[C]["record"]> {
    return this.client.send("GET", this.path(id), { query: { ...params } });
  }

  /** Creates a record and answers it as written. */
  create(
    body: CollectionTypes[C]["create"],
    params: RecordParams = {},
    options: WriteOptions = {},
  ): Promise<CollectionTypes[C]["record"]> {
    return this.client.send("POST", this.path(), {
      query: { ...params },
      body,
      headers: { "Idempotency-Key": options.idempotencyKey },
    });
  }

  /** Changes the fields given (the others keep their values) and answers the record as written. */
  update(
    id: string,
    body: CollectionTypes[C]["update"],
    params: RecordParams = {},
    options: WriteOptions = {},
  ): Promise<CollectionTypes[C]["record"]> {
    return this.client.send("PATCH", this.path(id), {
      query: { ...params },
      body,
      headers: { "If-Match": options.ifMatch, "Idempotency-Key": options.idempotencyKey },
    });
  }

  /** Deletes a record. */
  async delete(id: string, options: WriteOptions = {}): Promise<void> {
    await this.client.send<void>("DELETE", this.path(id), {
      headers: { "If-Match": options.ifMatch, "Idempotency-Key": options.idempotencyKey },
    });
  }

  /** Counts and sums records by group. */
  aggregate(params: AggregateParams = {}): Promise<CollectionTypes[C]["aggregate"]> {
    return this.client.send("GET", `/api/collections/${encodeURIComponent(this.name)}/aggregate`, {
      query: { ...params },
    });
  }
}
