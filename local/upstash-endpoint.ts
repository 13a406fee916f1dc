import { timingSafeEqual } from "node:crypto";
import { createServer } from "node:http";
import type { IncomingMessage, ServerResponse } from "node:http";
import { listenLocal } from "./listen";
import { isBlockingCommand, RedisReplyError } from "./redis-backend";
import type { RawReply, RedisBackend } from "./redis-backend";
import { scriptArgsForRedis } from "./upstash-script-flags";
import { streamSubscription } from "./upstash-subscribe";

/**
 * A stand-in for Upstash's REST API in front of a {@link RedisBackend}, so the unmodified
 * @upstash/redis client runs locally: `new Redis({ url, token })`.
 */
export interface UpstashEndpoint {
  /** e.g. http://127.0.0.1:PORT — the client's `url` */
  readonly url: string;
  readonly token: string;
  /** Stops the HTTP server; the backend belongs to the caller and stays open. */
  close(): Promise<void>;
}

export interface UpstashEndpointOptions {
  backend: RedisBackend;
  token: string;
  /** Default 127.0.0.1 */
  host?: string;
  /** Default 0: a free port */
  port?: number;
}

const MAX_BODY_BYTES = 10 * 1024 * 1024;
const PIPELINE_PATH = "/pipeline";
const MULTI_EXEC_PATH = "/multi-exec";
const JSON_HEADERS = { "Content-Type": "application/json" } as const;

const CONNECTION_STATE = "it would change the state of the shared Redis connection";
const PUSH_MODE = "Upstash streams subscriptions over their own request (SUBSCRIBE / PSUBSCRIBE), ended by closing it";
const TRANSACTION = "send transactions to /multi-exec";
const ADMIN = "it is not available through the local Upstash endpoint";
const STREAM_ALONE = "it streams its messages: send it alone (POST / or /subscribe/<channel>) and read the event stream";

const REFUSED_GROUPS: readonly (readonly [reason: string, names: readonly string[]])[] = [
  [CONNECTION_STATE, ["SELECT", "AUTH", "HELLO", "QUIT", "RESET", "CLIENT", "READONLY", "READWRITE"]],
  [PUSH_MODE, ["SSUBSCRIBE", "UNSUBSCRIBE", "PUNSUBSCRIBE", "SUNSUBSCRIBE", "MONITOR"]],
  [TRANSACTION, ["MULTI", "EXEC", "DISCARD", "WATCH", "UNWATCH"]],
  [ADMIN, ["SHUTDOWN", "DEBUG", "REPLICAOF", "SLAVEOF", "SYNC", "PSYNC", "FAILOVER"]],
];
/** Streamed on a request of their own; refused inside a pipeline or transaction. */
const SUBSCRIBING: ReadonlyMap<string, "channel" | "pattern"> = new Map([
  ["SUBSCRIBE", "channel"],
  ["PSUBSCRIBE", "pattern"],
]);
const REFUSED: ReadonlyMap<string, string> = new Map(
  REFUSED_GROUPS.flatMap(([reason, names]) => names.map((name) => [name, reason] as const)),
);

interface RedisCommand {
  /** Upper-cased */
  readonly name: string;
  readonly args: (string | Buffer)[];
}

type JsonReply = string | number | null | JsonReply[];
type PipelineEntry = { result: JsonReply } | { error: string };

class RequestError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function startUpstashEndpoint(options: UpstashEndpointOptions): Promise<UpstashEndpoint> {
  const { backend, token } = options;
  const host = options.host ?? "127.0.0.1";
  const expectedAuthorization = Buffer.from(`Bearer ${token}`);

  let requests = 0;
  const server = createServer((req, res) => {
    // Upstash's read-your-writes token, which the client echoes on its next request: one Redis
    // here, so every read already sees every write, and a fresh value per answer is all it needs.
    res.setHeader("Upstash-Sync-Token", String(++requests));
    handleRequest(req, res, backend, token, expectedAuthorization).then(
      (reply) => {
        if (reply !== STREAMED) send(res, reply.status, reply.body);
      },
      (error: unknown) => {
        if (error instanceof RequestError) {
          // The rest of an oversized body is not worth reading; drop the connection after answering.
          if (error.status === 413) res.setHeader("Connection", "close");
          send(res, error.status, { error: error.message });
          return;
        }
        // Anything else means Redis was unreachable or the connection broke: a gateway failure.
        send(res, 502, { error: `ERR Redis backend failed: ${error instanceof Error ? error.message : String(error)}` });
      },
    );
  });
  // Above undici's 4s idle timeout, so the server never closes a socket the client is about to reuse.
  server.keepAliveTimeout = 65_000;

  const authority = await listenLocal(server, host, options.port);

  let closing: Promise<void> | undefined;
  return {
    url: `http://${authority}`,
    token,
    close() {
      closing ??= new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

interface Reply {
  readonly status: number;
  readonly body: unknown;
}

/** The response was taken over (an event stream) and is not a JSON reply. */
const STREAMED = Symbol("streamed");

async function handleRequest(
  req: IncomingMessage,
  res: ServerResponse,
  backend: RedisBackend,
  token: string,
  expectedAuthorization: Buffer,
): Promise<Reply | typeof STREAMED> {
  const target = req.url ?? "/";
  const queryAt = target.indexOf("?");
  const path = queryAt < 0 ? target : target.slice(0, queryAt);
  const query = queryAt < 0 ? "" : target.slice(queryAt + 1);

  if (!authorized(req.headers.authorization, query, token, expectedAuthorization)) {
    return { status: 401, body: { error: "Unauthorized: missing or invalid token" } };
  }
  if (req.method !== "POST" && req.method !== "GET") {
    return { status: 405, body: { error: "ERR Use POST (or GET for /command/arg... paths)" } };
  }
  const base64 = req.headers["upstash-encoding"] === "base64";
  const body = await readBody(req);
  const context: RequestContext = { res, backend, base64, gone: clientGone(res) };

  if (path === PIPELINE_PATH) return pipeline(context, parseCommandList(parseJson(body)));
  if (path === MULTI_EXEC_PATH) return multiExec(context, parseCommandList(parseJson(body)));
  const command = path === "/" ? parseCommand(parseJson(body)) : pathCommand(path, req.method === "POST" ? body : undefined);
  return single(context, command);
}

interface RequestContext {
  readonly res: ServerResponse;
  readonly backend: RedisBackend;
  readonly base64: boolean;
  /** Aborted when the client goes away before its answer: blocking commands stop waiting. */
  readonly gone: AbortSignal;
}

function clientGone(res: ServerResponse): AbortSignal {
  const gone = new AbortController();
  res.once("close", () => {
    if (!res.writableFinished) gone.abort(new Error("the client closed the connection"));
  });
  return gone.signal;
}

async function single(context: RequestContext, command: RedisCommand): Promise<Reply | typeof STREAMED> {
  const subscribing = SUBSCRIBING.get(command.name);
  if (subscribing !== undefined && refusalOf(command) === undefined) {
    if (command.args.length === 0) return { status: 400, body: { error: `ERR wrong number of arguments for '${command.name.toLowerCase()}' command` } };
    await streamSubscription(context.res, context.backend, subscribing, command.args.map(String));
    return STREAMED;
  }
  return singleReply(await execute(context, command), context.base64);
}

/**
 * Commands run in request order without awaiting in between, each reaching the shared connection
 * before the next; with a blocking command among them, one after the other, so that none starts
 * before the blocking one has answered (as on one Redis connection).
 */
async function pipeline(context: RequestContext, commands: readonly RedisCommand[]): Promise<Reply> {
  const inline = commands.map((command) => (SUBSCRIBING.has(command.name) ? refusedInBatch(command) : command));
  let replies: RawReply[];
  if (inline.some((command) => !(command instanceof RedisReplyError) && isBlockingCommand(command.name, command.args))) {
    replies = [];
    for (const command of inline) replies.push(command instanceof RedisReplyError ? command : await execute(context, command));
  } else {
    replies = await Promise.all(inline.map((command) => (command instanceof RedisReplyError ? command : execute(context, command))));
  }
  return { status: 200, body: replies.map((reply) => pipelineEntry(reply, context.base64)) };
}

async function multiExec(context: RequestContext, commands: readonly RedisCommand[]): Promise<Reply> {
  // Like a command Redis rejects while queueing: nothing of the transaction runs.
  for (const command of commands) {
    const refusal = SUBSCRIBING.has(command.name) ? refusedInBatch(command).message : refusalOf(command);
    if (refusal !== undefined) return { status: 400, body: { error: refusal } };
    if (scanWithTypeAt(command) >= 0) {
      return { status: 400, body: { error: "ERR SCAN WITHTYPE is not supported inside /multi-exec" } };
    }
  }
  if (commands.length === 0) return { status: 200, body: [] };
  const replies = await context.backend.transaction(commands.map(transactionCommand));
  if (replies instanceof RedisReplyError) return { status: 400, body: { error: replies.message } };
  return { status: 200, body: replies.map((reply) => pipelineEntry(reply, context.base64)) };
}

function transactionCommand(command: RedisCommand): (string | Buffer)[] {
  // Upstash's 0 for a COPY onto itself, from inside the transaction and without touching a key.
  if (isCopyOntoItself(command)) return ["EVAL", "return 0", "0"];
  return [command.name, ...scriptArgsForRedis(command.name, command.args)];
}

function refusedInBatch(command: RedisCommand): RedisReplyError {
  return new RedisReplyError(`ERR ${command.name} is not allowed in a pipeline or transaction: ${STREAM_ALONE}`);
}

/**
 * Upstash's REST form: /set/key/value, with a POST body appended as the last argument; except
 * for /subscribe/<channel> and /psubscribe/<pattern>, whose body (the client sends `[]`) is ignored.
 */
function pathCommand(path: string, body: Buffer | undefined): RedisCommand {
  const [name = "", ...args] = path.slice(1).split("/").map(decodeSegment);
  if (name.length === 0) throw new RequestError(400, "ERR Expected a command: POST a JSON array to / or use /command/arg...");
  const upper = name.toUpperCase();
  const argv: (string | Buffer)[] = args;
  if (body !== undefined && body.length > 0 && !SUBSCRIBING.has(upper)) argv.push(body);
  return { name: upper, args: argv };
}

function singleReply(reply: RawReply, base64: boolean): Reply {
  return reply instanceof RedisReplyError
    ? { status: 400, body: { error: reply.message } }
    : { status: 200, body: { result: encodeTopLevel(reply, base64) } };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  const payload = JSON.stringify(body);
  res.writeHead(status, { ...JSON_HEADERS, "Content-Length": Buffer.byteLength(payload) });
  res.end(payload);
}

function authorized(header: string | undefined, query: string, token: string, expected: Buffer): boolean {
  if (header !== undefined) {
    const given = Buffer.from(header);
    return given.length === expected.length && timingSafeEqual(given, expected);
  }
  // Upstash also takes the token as a `_token` query parameter, which curl users rely on.
  if (query.length === 0) return false;
  const given = new URLSearchParams(query).get("_token");
  return given !== null && given.length === token.length && timingSafeEqual(Buffer.from(given), Buffer.from(token));
}

function readBody(req: IncomingMessage): Promise<Buffer> {
  const declared = Number(req.headers["content-length"]);
  if (declared > MAX_BODY_BYTES) return Promise.reject(bodyTooLarge());
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.off("data", onData);
        reject(bodyTooLarge());
        return;
      }
      chunks.push(chunk);
    };
    req.on("data", onData);
    req.on("end", () => resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)));
    req.on("error", reject);
  });
}

function bodyTooLarge(): RequestError {
  return new RequestError(413, `ERR Request body exceeds ${MAX_BODY_BYTES} bytes`);
}

function parseJson(body: Buffer): unknown {
  if (body.length === 0) throw new RequestError(400, "ERR Empty request body: expected a JSON array");
  try {
    return JSON.parse(body.toString("utf8"));
  } catch {
    throw new RequestError(400, "ERR Request body is not valid JSON");
  }
}

/** An empty list is an empty answer, as Upstash gives. */
function parseCommandList(value: unknown): RedisCommand[] {
  if (!Array.isArray(value)) {
    throw new RequestError(400, "ERR Expected a JSON array of commands, e.g. [[\"SET\",\"k\",\"v\"],[\"GET\",\"k\"]]");
  }
  return value.map(parseCommand);
}

function parseCommand(value: unknown): RedisCommand {
  if (!Array.isArray(value) || value.length === 0) {
    throw new RequestError(400, "ERR Expected a command as a non-empty JSON array, e.g. [\"SET\",\"k\",\"v\"]");
  }
  const [name, ...rest] = value as unknown[];
  if (typeof name !== "string" || name.length === 0) throw new RequestError(400, "ERR Command name must be a non-empty string");
  const args = rest.map((arg): string => {
    // The client serialises numbers and booleans as JSON literals; Redis wants their text.
    if (typeof arg === "string") return arg;
    if (typeof arg === "number" || typeof arg === "boolean") return String(arg);
    throw new RequestError(400, `ERR Invalid argument for ${name}: expected strings, numbers or booleans`);
  });
  return { name: name.toUpperCase(), args };
}

function decodeSegment(segment: string): string {
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new RequestError(400, `ERR Malformed URL segment: ${segment}`);
  }
}

// ---------------------------------------------------------------------------------------------
// Commands

function execute(context: RequestContext, command: RedisCommand): Promise<RawReply> {
  const refusal = refusalOf(command);
  if (refusal !== undefined) return Promise.resolve(new RedisReplyError(refusal));
  if (isCopyOntoItself(command)) return Promise.resolve(0);
  const withType = scanWithTypeAt(command);
  if (withType >= 0) return scanWithType(context.backend, command, withType);
  if (isBlockingCommand(command.name, command.args)) return context.backend.callBlocking(command.name, command.args, context.gone);
  return context.backend.call(command.name, scriptArgsForRedis(command.name, command.args));
}

function refusalOf(command: RedisCommand): string | undefined {
  const reason = REFUSED.get(command.name);
  return reason === undefined ? undefined : `ERR ${command.name} is not allowed: ${reason}`;
}

/**
 * COPY of a key onto itself: Upstash answers 0 (nothing copied) where Redis 7 answers "ERR source
 * and destination objects are the same"; code written against Upstash expects the 0. Upstash has
 * one database: a COPY with a DB option is left to Redis.
 */
function isCopyOntoItself(command: RedisCommand): boolean {
  if (command.name !== "COPY" || command.args.length < 2) return false;
  const [source, destination, ...options] = command.args.map(String);
  return source === destination && !options.some((option) => option.toUpperCase() === "DB");
}

/** Index of the WITHTYPE flag in SCAN's options (an Upstash extension), or -1. */
function scanWithTypeAt(command: RedisCommand): number {
  if (command.name !== "SCAN") return -1;
  const { args } = command;
  // args[0] is the cursor; MATCH, COUNT and TYPE each take a value, which may itself read "withtype".
  for (let i = 1; i < args.length; i++) {
    const word = args[i]!.toString().toUpperCase();
    if (word === "WITHTYPE") return i;
    if (word === "MATCH" || word === "COUNT" || word === "TYPE") i++;
  }
  return -1;
}

/**
 * Upstash answers `[cursor, [key, type, key, type, ...]]`. Keys deleted between the SCAN and their
 * TYPE are left out, as a later SCAN would not have returned them either.
 */
async function scanWithType(backend: RedisBackend, command: RedisCommand, flagAt: number): Promise<RawReply> {
  const args = command.args.filter((_, i) => i !== flagAt);
  const reply = await backend.call("SCAN", args);
  if (!Array.isArray(reply)) return reply;
  const [cursor = null, keys] = reply;
  if (!Array.isArray(keys)) return reply;
  const names = keys.filter((key): key is Buffer | string => typeof key === "string" || Buffer.isBuffer(key));
  const types = await Promise.all(names.map((key) => backend.call("TYPE", [key])));
  const keysWithTypes: RawReply[] = [];
  for (let i = 0; i < names.length; i++) {
    const type = types[i]!;
    if (type instanceof RedisReplyError || type === null || type.toString() === "none") continue;
    keysWithTypes.push(names[i]!, type);
  }
  return [cursor, keysWithTypes];
}

// ---------------------------------------------------------------------------------------------
// Replies

const OK = Buffer.from("OK");

function pipelineEntry(reply: RawReply, base64: boolean): PipelineEntry {
  return reply instanceof RedisReplyError ? { error: reply.message } : { result: encodeTopLevel(reply, base64) };
}

/**
 * With Upstash-Encoding: base64 every string is base64, except a top-level "OK": Upstash sends status
 * OK bare and the client passes a bare top-level "OK" through (it decodes every other string,
 * nested ones always). A bulk string "OK" decodes to the same "OK" either way, so both go bare.
 */
function encodeTopLevel(reply: RawReply, base64: boolean): JsonReply {
  if (base64 && (reply === "OK" || (Buffer.isBuffer(reply) && reply.equals(OK)))) return "OK";
  return encode(reply, base64);
}

function encode(reply: RawReply, base64: boolean): JsonReply {
  if (reply === null || typeof reply === "number") return reply;
  if (Buffer.isBuffer(reply)) return base64 ? reply.toString("base64") : reply.toString("utf8");
  if (typeof reply === "string") return base64 ? Buffer.from(reply).toString("base64") : reply;
  if (Array.isArray(reply)) {
    const items: JsonReply[] = new Array<JsonReply>(reply.length);
    for (let i = 0; i < reply.length; i++) items[i] = encode(reply[i]!, base64);
    return items;
  }
  // Errors nested in arrays (EXEC inside Lua, error tables) have no JSON slot of their own; their text is the value.
  return encode(reply.message, base64);
}
