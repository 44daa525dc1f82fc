// A frontend's first walk through /api/v1, typed by the schema (src/api.d.ts is generated from
// /api/v1/schema/ by openapi-typescript): sign in with an API token, create and post a journal
// entry, create a draft and submit it with If-Match (a change to an existing object needs the ETag
// of the version it was read at: a stale one is 412, none 428), read the trial balance, download a
// consolidation run's board pack.
//
//   SHESHI_URL=http://127.0.0.1:8000 SHESHI_TOKEN=shs_… SHESHI_ENTITY=P SHESHI_PERIOD=2024-12 \
//   SHESHI_DATE=2024-12-15 SHESHI_DEBIT=1300 SHESHI_CREDIT=2000 SHESHI_AMOUNT=250.00 \
//   SHESHI_OUT=board-pack.xlsx node dist/walk.js
//
// Every request and response shape below comes from the schema: a renamed field or a removed
// path fails `tsc`, not the frontend at run time.
import { writeFile } from "node:fs/promises";
import { randomUUID } from "node:crypto";

import type { paths } from "./api.js";

type Path = keyof paths;
type JsonOf<T> = T extends { content: { "application/json": infer B } } ? B : never;

type EntityPage = JsonOf<paths["/api/v1/entities/"]["get"]["responses"][200]>;
type NewEntry = NonNullable<paths["/api/v1/journal-entries/"]["post"]["requestBody"]>["content"]["application/json"];
type Entry = JsonOf<paths["/api/v1/journal-entries/"]["post"]["responses"][201]>;
type EntryPath = "/api/v1/journal-entries/{id}/";
type SubmitPath = "/api/v1/journal-entries/{id}/submit/";
// The schema makes If-Match a required header of the submit action: leaving it out fails `tsc`.
type SubmitHeaders = paths[SubmitPath]["post"]["parameters"]["header"];
type Submitted = JsonOf<paths[SubmitPath]["post"]["responses"][200]>;
type TrialBalanceQuery = NonNullable<paths["/api/v1/reports/trial-balance/"]["get"]["parameters"]["query"]>;
type TrialBalance = JsonOf<paths["/api/v1/reports/trial-balance/"]["get"]["responses"][200]>;
type RunQuery = NonNullable<paths["/api/v1/consolidation-runs/"]["get"]["parameters"]["query"]>;
type RunPage = JsonOf<paths["/api/v1/consolidation-runs/"]["get"]["responses"][200]>;
type BoardPackPath = "/api/v1/consolidation-runs/{id}/board-pack/";
type BoardPackParams = paths[BoardPackPath]["get"]["parameters"]["path"];

/** The problem+json body every API error has (sheshi/api/problems.py). */
interface Problem {
  code: string;
  detail: string;
  errors?: { field: string; message: string; code: string; row?: number }[];
}

class ApiError extends Error {
  constructor(readonly status: number, readonly problem: Problem | null, text: string) {
    super(problem ? `${status} ${problem.code}: ${problem.detail}` : `${status}: ${text.slice(0, 300)}`);
  }
}

type Query = Record<string, string | number | boolean | undefined>;

class Sheshi {
  constructor(private readonly base: string, private readonly token: string) {}

  private async call(method: "GET" | "POST", path: Path, opts: {
    params?: Record<string, string | number>; query?: Query; body?: unknown; headers?: Record<string, string>;
    accept?: string;
  } = {}): Promise<Response> {
    const filled = String(path).replace(/\{(\w+)\}/g, (_, name: string) => {
      const value = opts.params?.[name];
      if (value === undefined) throw new Error(`missing path parameter ${name}`);
      return encodeURIComponent(String(value));
    });
    const url = new URL(filled, this.base);
    for (const [key, value] of Object.entries(opts.query ?? {})) {
      if (value !== undefined) url.searchParams.set(key, String(value));
    }
    const headers: Record<string, string> = {
      Authorization: `Bearer ${this.token}`, Accept: opts.accept ?? "application/json", ...opts.headers,
    };
    if (opts.body !== undefined) headers["Content-Type"] = "application/json";
    const res = await fetch(url, {
      method, headers, body: opts.body === undefined ? null : JSON.stringify(opts.body),
    });
    if (!res.ok) {
      const text = await res.text();
      let problem: Problem | null = null;
      try { problem = JSON.parse(text) as Problem; } catch { /* not JSON: reported as text */ }
      throw new ApiError(res.status, problem, text);
    }
    return res;
  }

  async entities(): Promise<EntityPage> {
    return (await this.call("GET", "/api/v1/entities/")).json() as Promise<EntityPage>;
  }

  /** Create; the key makes a retry return the same entry, never a second one. */
  async create(entry: NewEntry, idempotencyKey: string): Promise<Entry> {
    const res = await this.call("POST", "/api/v1/journal-entries/", {
      body: entry, headers: { "Idempotency-Key": idempotencyKey },
    });
    return res.json() as Promise<Entry>;
  }

  /** The entry's current version (its ETag), to send back as If-Match with a change. */
  async etag(id: number): Promise<string> {
    const res = await this.call("GET", "/api/v1/journal-entries/{id}/" satisfies EntryPath, { params: { id } });
    const etag = res.headers.get("ETag");
    if (etag === null) throw new Error(`no ETag on entry ${id}`);
    return etag;
  }

  /** Submit the entry as it was when read: refused (412) if it changed since. */
  async submit(id: number, headers: SubmitHeaders): Promise<Submitted> {
    const res = await this.call("POST", "/api/v1/journal-entries/{id}/submit/" satisfies SubmitPath, {
      params: { id }, headers,
    });
    return res.json() as Promise<Submitted>;
  }

  async trialBalance(query: TrialBalanceQuery): Promise<TrialBalance> {
    return (await this.call("GET", "/api/v1/reports/trial-balance/", { query })).json() as Promise<TrialBalance>;
  }

  async runs(query: RunQuery): Promise<RunPage> {
    return (await this.call("GET", "/api/v1/consolidation-runs/", { query })).json() as Promise<RunPage>;
  }

  async boardPack(params: BoardPackParams): Promise<Uint8Array> {
    const res = await this.call("GET", "/api/v1/consolidation-runs/{id}/board-pack/", {
      params, accept: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    });
    return new Uint8Array(await res.arrayBuffer());
  }
}

function env(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`set ${name}`);
  return value;
}

async function main(): Promise<void> {
  const api = new Sheshi(env("SHESHI_URL"), env("SHESHI_TOKEN"));
  const entity = env("SHESHI_ENTITY");
  const period = env("SHESHI_PERIOD");
  const amount = env("SHESHI_AMOUNT"); // a decimal string: money never becomes a JS number

  const visible = await api.entities();
  console.log(`signed in: ${visible.results.map((e) => e.code).join(",")}`);

  const lines = [
    { account: env("SHESHI_DEBIT"), amount },
    { account: env("SHESHI_CREDIT"), amount: `-${amount}` },
  ];
  const entry = await api.create({
    entity, entry_date: env("SHESHI_DATE"), period, description: "Typed client walk", post: true, lines,
  }, `walk-${randomUUID()}`);

  const draft = await api.create({
    entity, entry_date: env("SHESHI_DATE"), period, description: "Typed client draft", post: false, lines,
  }, `walk-${randomUUID()}`);
  const version = await api.etag(draft.id);
  const submitted = await api.submit(draft.id, { "If-Match": version });
  // The draft's version is stale now: the same change again is refused, not applied twice.
  const stale = await api.submit(draft.id, { "If-Match": version }).then(
    () => "accepted", (err: unknown) => (err instanceof ApiError ? `${err.status} ${err.problem?.code}` : String(err)));
  console.log(`draft: id=${draft.id} ${draft.status}->${submitted.status} etag=${/^"[0-9a-f]+"$/.test(version)} ` +
    `stale=${stale}`);
  console.log(`entry: id=${entry.id} status=${entry.status} period=${entry.period} ` +
    `lines=${entry.lines.map((l) => `${l.account}:${l.functional_amount}`).join(",")}`);

  const tb = await api.trialBalance({ entity, period });
  const debitRow = tb.rows.find((r) => r.code === env("SHESHI_DEBIT"));
  console.log(`trial balance: entity=${tb.entity} period=${tb.period} debit=${tb.total_debit} ` +
    `credit=${tb.total_credit} reconciles=${tb.reconciles} ${debitRow?.code}=${debitRow?.net}`);

  const runs = await api.runs({ status: "succeeded" });
  const run = runs.results[0];
  if (run === undefined) throw new Error("no succeeded consolidation run to take a board pack from");
  const pack = await api.boardPack({ id: run.id });
  const zip = pack[0] === 0x50 && pack[1] === 0x4b; // "PK": an .xlsx is a zip file
  await writeFile(env("SHESHI_OUT"), pack);
  console.log(`board pack: run=${run.id} group=${run.group} period=${run.period} bytes=${pack.length} xlsx=${zip}`);
}

main().catch((err: unknown) => {
  console.error(err instanceof Error ? err.message : err);
  process.exit(1);
});
