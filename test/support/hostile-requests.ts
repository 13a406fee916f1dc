import { randomUUID } from "node:crypto";
import { SignJWT } from "jose";
import type { RouteDecl } from "../../local/sst-manifest";

/** mulberry32: small, fast, and the same sequence for the same seed everywhere. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

class Dice {
  constructor(private readonly next: () => number) {}

  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }

  chance(probability: number): boolean {
    return this.next() < probability;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(0, items.length - 1)]!;
  }

  bytes(length: number): Buffer {
    return Buffer.from(Array.from({ length }, () => this.int(0, 255)));
  }
}

export interface HostileRequest {
  /** One line saying what was sent, for the failure report. */
  readonly description: string;
  /** The request as bytes on the wire. Built on demand: some bodies are megabytes. */
  wire(): Buffer;
}

/** Tokens a hostile caller might send: forged, expired, unsigned, oversized, and valid ones too. */
export type TokenPool = readonly (readonly [kind: string, header: string | undefined])[];

export async function hostileTokens(secret: string, issuer: string): Promise<TokenPool> {
  const key = new TextEncoder().encode(secret);
  const now = Math.floor(Date.now() / 1000);
  const sign = (claims: Record<string, unknown>, alg = "HS256", signingKey = key) =>
    new SignJWT(claims).setProtectedHeader({ alg }).sign(signingKey);
  const valid = (role: string, sub: string) => sign({ role, sub, iss: issuer, iat: now, exp: now + 600 });
  const unsigned = (claims: Record<string, unknown>) =>
    `${Buffer.from(JSON.stringify({ alg: "none", typ: "JWT" })).toString("base64url")}.${Buffer.from(JSON.stringify(claims)).toString("base64url")}.`;
  const admin = { role: "admin", sub: "fuzz-admin", iss: issuer, iat: now, exp: now + 600 };
  return [
    ["none", undefined],
    ["empty bearer", "Bearer "],
    ["basic", "Basic YWRtaW46YWRtaW4="],
    ["garbage", `Bearer ${"x".repeat(40)}`],
    ["three dots", "Bearer a.b.c"],
    ["alg none", `Bearer ${unsigned(admin)}`],
    ["alg none, no signature part", `Bearer ${unsigned(admin).slice(0, -1)}`],
    ["wrong secret", `Bearer ${await sign(admin, "HS256", new TextEncoder().encode("another-secret-that-is-long-enough-000000"))}`],
    ["expired", `Bearer ${await sign({ ...admin, iat: now - 7200, exp: now - 3600 })}`],
    ["not yet valid", `Bearer ${await sign({ ...admin, nbf: now + 3600 })}`],
    ["wrong issuer", `Bearer ${await sign({ ...admin, iss: "someone-else" })}`],
    ["HS512", `Bearer ${await sign(admin, "HS512")}`],
    ["no sub", `Bearer ${await sign({ role: "admin", iss: issuer, exp: now + 600 })}`],
    ["unknown role", `Bearer ${await sign({ ...admin, role: "root" })}`],
    ["role array", `Bearer ${await sign({ ...admin, role: ["admin"] })}`],
    ["user with non-uuid sub", `Bearer ${await sign({ ...admin, role: "user", sub: "../../etc" })}`],
    ["huge", `Bearer ${"A".repeat(7_000)}.${"B".repeat(500)}.${"C".repeat(43)}`],
    ["lower-case scheme", `bearer ${await valid("admin", "fuzz-admin")}`],
    ["valid admin", `Bearer ${await valid("admin", "fuzz-admin")}`],
    ["valid service", `Bearer ${await valid("service", "fuzz-service")}`],
    ["valid user", `Bearer ${await valid("user", randomUUID())}`],
  ];
}

const CONTENT_TYPES = [
  undefined,
  "application/json",
  "application/json; charset=utf-8",
  "application/json; charset=utf-16",
  "text/plain",
  "application/x-www-form-urlencoded",
  "multipart/form-data; boundary=----x",
  "application/xml",
  "application/octet-stream",
  "image/png",
  "application/json, text/html",
  "*/*",
  ";;;",
] as const;

const METHODS = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] as const;

/**
 * Path parameter values as they travel on the wire: plausible identifiers of every kind, and
 * everything a hostile client can put in a path segment.
 */
function hostileSegment(dice: Dice): string {
  switch (dice.int(0, 15)) {
    case 0:
      return String(dice.int(1, 9)).repeat(dice.int(1, 25));
    case 1:
      return `-100${dice.int(100_000_000, 999_999_999)}`;
    case 2:
      return dice.chance(0.5) ? randomUUIDFrom(dice) : randomUUIDFrom(dice).toUpperCase();
    case 3:
      return dice.pick(["%", "%E0%A4%A", "%u0000", "%zz", "%ED%A0%80", "%ED%B0%80", "%C0%AF", "%F8%88%80%80%80", "%FF%FE", "%E0%80%80"]);
    case 4:
      return [...dice.bytes(dice.int(1, 30))].map((byte) => `%${byte.toString(16).padStart(2, "0")}`).join("");
    case 5:
      return dice.pick(["%00", "%2F", "%252F", "..", "%2e%2e", ".", "%20", "+", "%0d%0a", "%5B%5D"]);
    case 6:
      return "9".repeat(dice.int(200, 6_000));
    case 7:
      return encodeURIComponent(dice.pick(["ü", "😀", "ߘ", "\u202e", "\u0000", "a b", "'; DROP TABLE app_users; --", "<script>", "${jndi:ldap://x}"]));
    case 8:
      return dice.pick(["[", "]", "{", "}", "|", "\\", "^", "`", "\"", "<", ">"]) + String(dice.int(0, 99));
    case 9:
      return String(2 ** 53 + dice.int(1, 1_000));
    case 10:
      return `0${dice.int(1, 99_999_999)}`;
    case 11:
      return dice.pick(["batch", "stats", "mappings", "health", "null", "undefined", "NaN", "true", "__proto__", "constructor"]);
    case 12:
      return `${dice.int(1, 99_999)}e${dice.int(1, 400)}`;
    case 13:
      return "%41".repeat(dice.int(1, 2_000));
    case 14:
      return String(dice.int(1_000_000_000, 9_999_999_999));
    default:
      return `${dice.int(0, 9)}${"%".repeat(dice.int(1, 3))}${dice.int(0, 9)}`;
  }
}

function randomUUIDFrom(dice: Dice): string {
  const hex = dice.bytes(16).toString("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-8${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function hostilePath(dice: Dice, route: RouteDecl): string {
  let path = route.path
    .split("/")
    .map((segment) => (/^\{\w+\+?\}$/.test(segment) ? hostileSegment(dice) : segment))
    .join("/");
  switch (dice.int(0, 12)) {
    case 0:
      return `${path}/`;
    case 1:
      return path.replace("/", "//");
    case 2:
      return `${path}/../${dice.pick(["admin", "v1", ".."])}`;
    case 3:
      return path.toUpperCase();
    case 4:
      return `http://[${path}`;
    case 5:
      return `http://localhost${path}`;
    case 6:
      path = `${path}/${hostileSegment(dice)}`;
      return path;
    default:
      return path;
  }
}

function hostileQuery(dice: Dice): string {
  if (dice.chance(0.5)) return "";
  const pairs = Array.from({ length: dice.int(1, 6) }, () => {
    const name = dice.pick(["telegramId", "okxUid", "userId", "limit", "cursor", "a", "telegramId[]", "__proto__", "", "%zz", "x".repeat(dice.int(1, 3_000))]);
    const value = dice.chance(0.2) ? "" : hostileSegment(dice);
    return dice.chance(0.1) ? name : `${name}=${value}`;
  });
  return `?${pairs.join(dice.pick(["&", "&&", ";", "&amp;"]))}`;
}

/** Bodies for the routes that take one, and for those that don't. */
function hostileBody(dice: Dice): { readonly description: string; build(): Buffer } {
  const json = (value: unknown) => ({ description: "json", build: () => Buffer.from(JSON.stringify(value)) });
  const text = (description: string, value: string) => ({ description, build: () => Buffer.from(value, "utf8") });
  switch (dice.int(0, 19)) {
    case 0:
      return text("empty", "");
    case 1:
      return json({ telegramId: hostileSegment(dice), okxUid: hostileSegment(dice), isActive: dice.pick([true, false, "yes", null, 1]) });
    case 2:
      return json({ telegramId: dice.int(1, 2 ** 31), okxUid: Number(`${dice.int(1, 9)}${"0".repeat(17)}`) });
    case 3:
      return json({ identifiers: Array.from({ length: dice.int(0, 150) }, () => hostileSegment(dice)) });
    case 4:
      return json({ identifiers: dice.pick([null, "x", 1, {}, [[[]]], [null, 1, true, {}]]) });
    case 5:
      return text("truncated json", `{"telegramId": "${dice.int(1, 999)}", "okxUid": `);
    case 6:
      return text("json with trailing garbage", `{"identifiers": ["1"]}${dice.pick(["}", ",", "x", "\u0000", "{}"])}`);
    case 7: {
      const depth = dice.int(1_000, 200_000);
      return { description: `nested ${depth} deep`, build: () => Buffer.from("[".repeat(depth) + "]".repeat(depth)) };
    }
    case 8: {
      const depth = dice.int(1_000, 50_000);
      return { description: `nested objects ${depth} deep`, build: () => Buffer.from('{"a":'.repeat(depth) + "1" + "}".repeat(depth)) };
    }
    case 9:
      return text("prototype pollution", `{"__proto__": {"isAdmin": true}, "constructor": {"prototype": {"x": 1}}, "telegramId": "1"}`);
    case 10:
      return text("lone surrogates", `{"telegramId": "\\ud800", "okxUid": "\\udfff\\ud800", "identifiers": ["\\ud83d"]}`);
    case 11:
      return text("huge numbers", `{"telegramId": 1e309, "okxUid": -0, "isActive": 123456789012345678901234567890}`);
    case 12: {
      const size = dice.int(262_145, 400_000);
      return { description: `${size} bytes of json`, build: () => Buffer.from(JSON.stringify({ identifiers: ["1"], pad: "x".repeat(size) })) };
    }
    case 13: {
      // Drawn now: build() runs when the request is sent, in whatever order the workers reach it.
      const size = dice.chance(0.1) ? 10 * 1024 * 1024 + dice.int(1, 1_000) : dice.int(1_000, 100_000);
      const fill = dice.int(0, 255);
      return { description: `${size} bytes of 0x${fill.toString(16)}`, build: () => Buffer.alloc(size, fill) };
    }
    case 14: {
      const bytes = dice.bytes(dice.int(1, 2_000));
      return { description: `${bytes.length} random bytes`, build: () => bytes };
    }
    case 15:
      return { description: "utf-16 json", build: () => Buffer.from('{"identifiers": ["1"]}', "utf16le") };
    case 16:
      return text("bom json", `\ufeff{"identifiers": ["1"]}`);
    case 17:
      return text("form", "telegramId=1&okxUid=2");
    case 18:
      return json(dice.pick([null, 0, "string", [], true, [{ telegramId: "1" }]]));
    default:
      return json({ telegramId: String(dice.int(1, 99_999_999_999)), okxUid: String(dice.int(1, 9)).repeat(18), isActive: true, extra: { deep: [1, 2, 3] } });
  }
}

function hostileHeaders(dice: Dice, tokens: TokenPool): { readonly lines: string[]; readonly description: string } {
  const [tokenKind, authorization] = dice.pick(tokens);
  const contentType = dice.pick(CONTENT_TYPES);
  const lines = [`Host: ${dice.chance(0.95) ? "localhost" : "x".repeat(dice.int(1, 500))}`, "Connection: close"];
  if (authorization !== undefined) lines.push(`Authorization: ${authorization}`);
  if (contentType !== undefined) lines.push(`Content-Type: ${contentType}`);
  const extras: string[] = [];
  switch (dice.int(0, 9)) {
    case 0:
      extras.push(`X-Big: ${"b".repeat(dice.int(1_000, 12_000))}`);
      break;
    case 1:
      for (let i = 0; i < dice.int(20, 120); i++) extras.push(`X-Many-${i}: ${i}`);
      break;
    case 2:
      extras.push("Content-Type: text/plain", "Authorization: Bearer duplicate");
      break;
    case 3:
      extras.push("Content-Encoding: gzip");
      break;
    case 4:
      extras.push(`X-Forwarded-For: ${hostileSegment(dice)}`, "X-Amzn-Trace-Id: Root=garbage");
      break;
    case 5:
      extras.push(`Cookie: ${"a=b; ".repeat(dice.int(1, 200))}`);
      break;
    case 6:
      extras.push(`X-Request-Id: ${hostileSegment(dice)}`, "Accept: application/xml");
      break;
    default:
      break;
  }
  lines.push(...extras);
  return { lines, description: `token ${tokenKind}, content-type ${contentType ?? "none"}${extras.length > 0 ? `, ${extras.length} extra header(s)` : ""}` };
}

/**
 * `count` hostile requests spread evenly over `routes` (each route in turn): malformed and
 * oversized URLs, wrong methods, odd and oversized headers, forged and valid tokens, bodies that
 * are invalid, huge, deeply nested or of the wrong type. The same seed gives the same requests.
 */
export function hostileRequests(seed: number, routes: readonly RouteDecl[], tokens: TokenPool, count: number): HostileRequest[] {
  const dice = new Dice(seededRandom(seed));
  return Array.from({ length: count }, (_, index) => {
    const route = routes[index % routes.length]!;
    const method = dice.chance(0.75) ? route.method : dice.chance(0.97) ? dice.pick(METHODS) : "FOO";
    const target = hostilePath(dice, route) + hostileQuery(dice);
    const headers = hostileHeaders(dice, tokens);
    const body = method === "GET" && dice.chance(0.7) ? { description: "no body", build: () => Buffer.alloc(0) } : hostileBody(dice);
    const framing = dice.int(0, 19);
    const description = `#${index} ${method} ${target.length > 120 ? `${target.slice(0, 120)}...(${target.length} chars)` : target} [${route.method} ${route.path}; ${headers.description}; body ${body.description}; framing ${framing}]`;
    return {
      description,
      wire: () => frame(method, target, headers.lines, body.build(), framing),
    };
  });
}

/** Mostly a correct Content-Length; sometimes chunked, a short Content-Length, or both headers. */
function frame(method: string, target: string, headerLines: readonly string[], body: Buffer, framing: number): Buffer {
  const head = (extra: string) => Buffer.from(`${method} ${target} HTTP/1.1\r\n${headerLines.join("\r\n")}\r\n${extra}\r\n`, "latin1");
  if (framing === 0) {
    const chunked = body.length === 0 ? "0\r\n\r\n" : `${body.length.toString(16)}\r\n${body.toString("latin1")}\r\n0\r\n\r\n`;
    return Buffer.concat([head("Transfer-Encoding: chunked\r\n"), Buffer.from(chunked, "latin1")]);
  }
  if (framing === 1) return Buffer.concat([head(`Content-Length: ${Math.floor(body.length / 2)}\r\n`), body]);
  if (framing === 2) return Buffer.concat([head(`Content-Length: ${body.length}\r\nTransfer-Encoding: chunked\r\n`), body]);
  if (framing === 3) return Buffer.concat([head(`Content-Length: ${body.length}\r\nContent-Length: ${body.length + 1}\r\n`), body]);
  return Buffer.concat([head(`Content-Length: ${body.length}\r\n`), body]);
}
