import { createHmac, randomBytes, randomInt, randomUUID, timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import { listenLocal } from "./listen";

/**
 * A stand-in for OKX's REST API v5 on 127.0.0.1, for the one call botstate makes with a user's
 * keys: `GET /api/v5/account/config`. It checks the request the way OKX does (the four OK-ACCESS-*
 * headers, a timestamp within 30 s, a known key, its passphrase, and the HMAC-SHA256 signature of
 * timestamp + method + path + body) and answers with OKX's codes and envelopes.
 *
 * Control endpoints: `POST {url}/_accounts {apiKey, secretKey, passphrase, uid?, perm?}` adds an
 * account; `POST {url}/_fail {status?, code?, msg?, times?, delayMs?}` fails (or, with only
 * `delayMs`, slows) the next calls (default: 503, code 50001); `GET {url}/_requests` counts the signed calls received.
 */

export interface FakeOkxAccount {
  readonly apiKey: string;
  readonly secretKey: string;
  readonly passphrase: string;
  readonly uid: string;
  /** Comma-separated, as OKX reports it (default `read_only,trade`). */
  readonly perm?: string;
}

export interface FakeOkxFailure {
  readonly status?: number;
  readonly code?: string;
  readonly msg?: string;
  readonly times?: number;
  /** Answer only after this long (a slow exchange). */
  readonly delayMs?: number;
}

export interface FakeOkx {
  readonly url: string;
  addAccount(account?: Partial<FakeOkxAccount>): FakeOkxAccount;
  fail(failure: FakeOkxFailure): void;
  /** Calls received on the API (not the control endpoints). */
  requests(): number;
  close(): Promise<void>;
}

interface OkxAnswer {
  readonly status: number;
  readonly code: string;
  readonly msg: string;
  readonly data?: unknown[];
}

const MAX_SKEW_MS = 30_000;
// Captured at load: a test may install fake timers later, and this server must keep real time.
const realSetTimeout = globalThis.setTimeout;
const ACCOUNT_CONFIG_PATH = "/api/v5/account/config";

/** Keys shaped like OKX's: a UUID key, a 32-hex-character secret, a passphrase, an 18-digit uid. */
export function generateOkxAccount(overrides: Partial<FakeOkxAccount> = {}): FakeOkxAccount {
  return {
    apiKey: randomUUID(),
    secretKey: randomBytes(16).toString("hex").toUpperCase(),
    passphrase: `Pass-${randomBytes(6).toString("base64url")}`,
    uid: `5${String(randomInt(0, 1e9)).padStart(9, "0")}${String(randomInt(0, 1e8)).padStart(8, "0")}`,
    ...overrides,
  };
}

export async function startFakeOkx(options: { readonly host?: string; readonly port?: number; readonly accounts?: readonly FakeOkxAccount[] } = {}): Promise<FakeOkx> {
  const accounts = new Map((options.accounts ?? []).map((account) => [account.apiKey, account]));
  const failures: (FakeOkxFailure & { remaining: number })[] = [];
  let requests = 0;
  const addAccount = (account: Partial<FakeOkxAccount> = {}) => {
    const complete = generateOkxAccount(account);
    accounts.set(complete.apiKey, complete);
    return complete;
  };
  const server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? "/", "http://fake-okx");
      const body = await readBody(req);
      if (url.pathname === "/_accounts" && req.method === "POST") return reply(res, 200, addAccount(JSON.parse(body || "{}") as Partial<FakeOkxAccount>));
      if (url.pathname === "/_fail" && req.method === "POST") {
        const failure = JSON.parse(body || "{}") as FakeOkxFailure;
        failures.push({ ...failure, remaining: failure.times ?? 1 });
        return reply(res, 200, { ok: true });
      }
      if (url.pathname === "/_requests") return reply(res, 200, { requests });
      requests += 1;
      const failure = takeFailure(failures);
      if (failure?.delayMs) await new Promise((resolve) => realSetTimeout(resolve, failure.delayMs));
      const answer = failure?.answer ?? answerSigned(req, url, body, accounts);
      reply(res, answer.status, { code: answer.code, msg: answer.msg, data: answer.data ?? [] });
    })().catch((error: unknown) => reply(res, 500, { code: "50000", msg: String(error), data: [] }));
  });
  const authority = await listenLocal(server, options.host ?? "127.0.0.1", options.port);
  return {
    url: `http://${authority}`,
    addAccount,
    fail: (failure) => void failures.push({ ...failure, remaining: failure.times ?? 1 }),
    requests: () => requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function reply(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { "content-type": "application/json" });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks).toString("utf8");
}

function takeFailure(failures: (FakeOkxFailure & { remaining: number })[]): { answer?: OkxAnswer; delayMs?: number } | undefined {
  const failure = failures[0];
  if (!failure) return undefined;
  failure.remaining -= 1;
  if (failure.remaining <= 0) failures.shift();
  // A delay alone slows the call down and then answers it normally.
  if (failure.delayMs && failure.status === undefined && failure.code === undefined) return { delayMs: failure.delayMs };
  const answer = { status: failure.status ?? 503, code: failure.code ?? "50001", msg: failure.msg ?? "Service temporarily unavailable. Please try again later." };
  return { answer, ...(failure.delayMs ? { delayMs: failure.delayMs } : {}) };
}

const header = (req: IncomingMessage, name: string): string | undefined => {
  const value = req.headers[name.toLowerCase()];
  return Array.isArray(value) ? value[0] : value;
};

function sameText(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}

/** OKX's checks, in OKX's order and with its codes. */
function answerSigned(req: IncomingMessage, url: URL, body: string, accounts: ReadonlyMap<string, FakeOkxAccount>): OkxAnswer {
  const key = header(req, "OK-ACCESS-KEY");
  const sign = header(req, "OK-ACCESS-SIGN");
  const timestamp = header(req, "OK-ACCESS-TIMESTAMP");
  const passphrase = header(req, "OK-ACCESS-PASSPHRASE");
  if (!key) return { status: 401, code: "50103", msg: 'Request header "OK-ACCESS-KEY" cannot be empty.' };
  if (!passphrase) return { status: 401, code: "50104", msg: 'Request header "OK-ACCESS-PASSPHRASE" cannot be empty.' };
  if (!sign) return { status: 401, code: "50106", msg: 'Request header "OK-ACCESS-SIGN" cannot be empty.' };
  if (!timestamp) return { status: 401, code: "50107", msg: 'Request header "OK-ACCESS-TIMESTAMP" cannot be empty.' };
  const sentAt = Date.parse(timestamp);
  if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/.test(timestamp) || Number.isNaN(sentAt)) return { status: 401, code: "50112", msg: "Invalid OK-ACCESS-TIMESTAMP" };
  if (Math.abs(Date.now() - sentAt) > MAX_SKEW_MS) return { status: 401, code: "50102", msg: "Timestamp request expired" };
  const account = accounts.get(key);
  if (!account) return { status: 401, code: "50111", msg: "Invalid OK-ACCESS-KEY" };
  if (!sameText(passphrase, account.passphrase)) return { status: 401, code: "50105", msg: 'Request header "OK-ACCESS-PASSPHRASE" incorrect.' };
  // Computed here, not with the adapter's helper, so a signing bug there cannot agree with itself.
  const expected = createHmac("sha256", account.secretKey).update(`${timestamp}${req.method ?? "GET"}${url.pathname}${url.search}${body}`).digest("base64");
  if (!sameText(sign, expected)) return { status: 401, code: "50113", msg: "Invalid Sign" };
  if (req.method !== "GET" || url.pathname !== ACCOUNT_CONFIG_PATH) return { status: 404, code: "50000", msg: "Not Found (the fake answers GET /api/v5/account/config)" };
  return { status: 200, code: "0", msg: "", data: [accountConfig(account)] };
}

function accountConfig(account: FakeOkxAccount): Record<string, unknown> {
  return {
    acctLv: "2",
    autoLoan: false,
    ctIsoMode: "automatic",
    greeksType: "PA",
    level: "Lv1",
    mgnIsoMode: "automatic",
    posMode: "long_short_mode",
    uid: account.uid,
    mainUid: account.uid,
    label: "botstate",
    roleType: "0",
    perm: account.perm ?? "read_only,trade",
    ip: "",
  };
}
