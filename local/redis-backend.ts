import { randomUUID } from "node:crypto";
import { Command, Redis } from "ioredis";
import RedisMock from "ioredis-mock";

/**
 * A Redis error reply carried as a value, so one failing command in a pipeline or transaction
 * does not unwind the others.
 */
export class RedisReplyError {
  constructor(readonly message: string) {}

  toString(): string {
    return this.message;
  }
}

/**
 * A RESP2 reply: bulk strings as Buffer, integers as number, nil as null. A `string` is a reply the
 * engine handed over as text (ioredis-mock does for some commands); neither engine tells status
 * replies from bulk strings, since ioredis 6 decodes both to Buffer.
 */
export type RawReply = Buffer | string | number | null | RawReply[] | RedisReplyError;

export interface RedisBackend {
  readonly kind: "server" | "memory";
  /** Run one command on the shared connection; error replies resolve to RedisReplyError, only transport failures reject. */
  call(command: string, args: readonly (string | Buffer)[]): Promise<RawReply>;
  /**
   * MULTI/EXEC of several commands (each `[name, ...args]`) atomically. A command rejected at queue
   * time aborts the whole transaction (EXECABORT, as a RedisReplyError); runtime errors are per entry.
   */
  transaction(commands: readonly (readonly (string | Buffer)[])[]): Promise<RawReply[] | RedisReplyError>;
  close(): Promise<void>;
}

// ---------------------------------------------------------------------------------------------
// Real server (ioredis 6)

/**
 * ioredis reshapes some replies after decoding (HGETALL into an object, pair replies of ZRANGE & co.),
 * keyed by command name. A proxy must hand the server's reply on untouched, whatever the casing.
 */
class RawCommand extends Command {
  override transformReply(result: Buffer | Buffer[]): Buffer | Buffer[] {
    return result;
  }
}

const RAW_REPLY = { replyEncoding: null } as const;

export async function connectRedisBackend(url: string): Promise<RedisBackend> {
  const redis = new Redis(url, {
    // RESP3 (the ioredis 6 default) would send doubles, maps and pair arrays in shapes Upstash never returns.
    protocol: 2,
    lazyConnect: true,
    // A command whose reply was lost may already have run; replaying it (or half a MULTI block) is worse than failing it.
    autoResendUnfulfilledCommands: false,
    // While Redis is away, fail requests after one reconnect attempt instead of holding them for seconds,
    // as Upstash answers an error rather than hanging.
    maxRetriesPerRequest: 1,
    connectionName: "upstash-endpoint",
  });
  // connect() itself only rejects with "Connection is closed."; the cause arrives as an error event.
  let cause: unknown;
  const onError = (error: unknown) => {
    cause ??= error;
  };
  redis.on("error", onError);
  try {
    await redis.connect();
  } catch (error) {
    redis.disconnect();
    cause ??= error;
    throw new Error(`Cannot connect to Redis: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  } finally {
    redis.off("error", onError);
  }
  // Once connected, a lost connection shows up as failed commands (a 502 from the endpoint); the
  // events of each reconnect attempt (Redis stopped by Ctrl-C before us) would print stack traces.
  redis.on("error", noop);

  const send = (name: string, args: readonly (string | Buffer)[]): Promise<RawReply> => {
    // Command flattens into a new array, so the caller's readonly array is never written.
    const command = new RawCommand(name, args as (string | Buffer)[], RAW_REPLY);
    void redis.sendCommand(command);
    return (command.promise as Promise<unknown>).then(adoptServerReply, replyErrorOrThrow);
  };

  let closing: Promise<void> | undefined;
  return {
    kind: "server",
    call: send,
    async transaction(commands) {
      // Written back to back in one tick on the one connection, so no other caller's command can land
      // inside the MULTI block; no dedicated connection needed.
      const multi = send("MULTI", []);
      const queued = commands.map((argv) => send(commandName(argv), argv.slice(1)));
      const exec = send("EXEC", []);
      const [multiReply, execReply, ...queuedReplies] = await Promise.all([multi, exec, ...queued]);
      if (multiReply instanceof RedisReplyError) return multiReply;
      if (execReply instanceof RedisReplyError) {
        const rejected = queuedReplies.findIndex((reply) => reply instanceof RedisReplyError);
        const detail = rejected >= 0 ? ` (command ${rejected + 1}: ${String(queuedReplies[rejected])})` : "";
        return new RedisReplyError(`${execReply.message}${detail}`);
      }
      if (!Array.isArray(execReply)) return new RedisReplyError("EXECABORT Transaction aborted");
      return execReply;
    },
    close() {
      // QUIT lets replies still in flight arrive first; without a live connection there is nothing to wait for.
      closing ??=
        redis.status === "ready"
          ? redis.quit().then(noop, () => redis.disconnect())
          : Promise.resolve(redis.disconnect());
      return closing;
    },
  };
}

/** Nested error replies (EXEC results, Lua tables) arrive as Error objects inside the decoded array. */
function adoptServerReply(value: unknown): RawReply {
  if (Array.isArray(value)) {
    const items: unknown[] = value;
    for (let i = 0; i < items.length; i++) items[i] = adoptServerReply(items[i]);
    return items as RawReply[];
  }
  if (value instanceof Error) return new RedisReplyError(value.message);
  if (value === undefined) return null;
  return value as RawReply;
}

function replyErrorOrThrow(error: unknown): RedisReplyError {
  if (error instanceof Error && error.name === "ReplyError") return new RedisReplyError(error.message);
  throw error;
}

// ---------------------------------------------------------------------------------------------
// In-process engine (ioredis-mock)

type ReplyTransformerTable = Record<string, unknown>;

/**
 * ioredis-mock runs ioredis's own reply transformers, without the reply context those of ioredis 6
 * require (ZRANGE & co. throw) and reshaping others (HGETALL into an object).
 */
const ioredisReplyTransformers = (Command["_transformer"] as { reply: ReplyTransformerTable }).reply;

/**
 * The mock looks its transformer up synchronously inside the call, and JavaScript runs nothing else
 * meanwhile, so lifting it for that call leaves every other ioredis user in the process unaffected.
 */
function withoutReplyTransformer<T>(name: string, run: () => T): T {
  const transformer = ioredisReplyTransformers[name];
  if (transformer === undefined) return run();
  delete ioredisReplyTransformers[name];
  try {
    return run();
  } finally {
    ioredisReplyTransformers[name] = transformer;
  }
}

type MockMethod = (...args: string[]) => unknown;

/** The mock's keyspace (not in its type declarations); read synchronously for type checks. */
interface MockData {
  get(key: string): unknown;
}

/** The mock is an EventEmitter with helper methods too; only names of Redis commands may reach it. */
const redisCommandNames: ReadonlySet<string> = new Set(Redis.prototype.getBuiltinCommands());

export function createMemoryRedisBackend(): RedisBackend {
  // The mock shares a keyspace between instances with the same host:port; a unique host gives this engine its own.
  const mock = new RedisMock({ host: `memory-${randomUUID()}` });
  const methods = mock as unknown as Record<string, unknown>;
  const data = (mock as unknown as { data: MockData }).data;

  /** Runs the emulator synchronously (before returning), which is what makes transactions atomic here. */
  const run = (name: string, args: readonly (string | Buffer)[]): Promise<RawReply> => {
    const lower = name.toLowerCase();
    if (!redisCommandNames.has(lower)) return Promise.resolve(unknownCommand(name));
    // Buffer variants keep bulk strings as bytes, like the real server's replies.
    const method = methods[`${lower}Buffer`] ?? methods[lower];
    if (typeof method !== "function") return Promise.resolve(unknownCommand(name));
    // The mock keys its store by string; Buffer keys would be compared by identity.
    const textArgs = optionsInUpperCase(lower, args.map((arg) => (typeof arg === "string" ? arg : arg.toString())));
    const wrongType = wrongTypeOf(lower, textArgs[0], data);
    if (wrongType) return Promise.resolve(wrongType);
    try {
      const pending = withoutReplyTransformer(lower, () => (method as MockMethod).apply(mock, textArgs));
      return Promise.resolve(pending).then(adoptMockReply, (error: unknown) => mockError(name, error));
    } catch (error) {
      return Promise.resolve(mockError(name, error));
    }
  };

  let closing: Promise<void> | undefined;
  return {
    kind: "memory",
    call: run,
    async transaction(commands) {
      const pending = commands.map((argv) => run(commandName(argv), argv.slice(1)));
      return Promise.all(pending);
    },
    close() {
      closing ??= (async () => {
        await mock.flushall();
        mock.disconnect();
      })();
      return closing;
    },
  };
}

/**
 * Redis reads SET's options (NX, PX, EX, GET...) in any case, and @upstash/redis sends them in lower
 * case; the mock knows only upper case and would silently drop `nx` and `px`. The options follow
 * the key and the value; upper-casing their numbers changes nothing.
 */
function optionsInUpperCase(command: string, args: string[]): string[] {
  if (command !== "set" || args.length <= 2) return args;
  return [...args.slice(0, 2), ...args.slice(2).map((arg) => arg.toUpperCase())];
}

type KeyType = "string" | "hash" | "list" | "set" | "zset";

/** Commands that work on one type of value at their first argument, as Redis checks them. */
const KEY_TYPE_OF_COMMAND: ReadonlyMap<string, KeyType> = new Map(
  (
    [
      ["string", "get getset getdel getex append incr incrby incrbyfloat decr decrby strlen getrange setrange getbit setbit bitcount bitpos"],
      ["hash", "hget hset hmset hmget hgetall hdel hexists hincrby hincrbyfloat hkeys hvals hlen hsetnx hstrlen hscan hrandfield"],
      ["list", "lpush rpush lpushx rpushx lpop rpop lrange llen lindex lset lrem ltrim linsert lpos lmove rpoplpush"],
      ["set", "sadd srem smembers sismember smismember scard spop srandmember sscan smove"],
      [
        "zset",
        "zadd zrem zrange zrangebyscore zrevrange zrevrangebyscore zrangebylex zrevrangebylex zscore zmscore zcard zcount zlexcount " +
          "zincrby zrank zrevrank zpopmin zpopmax zscan zremrangebyscore zremrangebyrank zremrangebylex zrandmember",
      ],
    ] as const
  ).flatMap(([type, names]) => names.split(" ").map((name) => [name, type] as const)),
);

const WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value";

/**
 * The mock answers a command on a key of another type with null or a JavaScript TypeError (HGET on
 * a string is null); Redis answers WRONGTYPE, which callers such as the Redis import rely on. The
 * check reads the mock's store synchronously, so transactions stay atomic.
 */
function wrongTypeOf(command: string, key: string | undefined, data: MockData): RedisReplyError | undefined {
  const expected = KEY_TYPE_OF_COMMAND.get(command);
  if (expected === undefined || key === undefined) return undefined;
  const value = data.get(key);
  if (value === undefined || value === null) return undefined;
  return storedType(value) === expected ? undefined : new RedisReplyError(WRONGTYPE);
}

/** How the mock stores each type (streams are arrays too, so they read as lists here). */
function storedType(value: unknown): KeyType {
  if (typeof value === "string" || Buffer.isBuffer(value)) return "string";
  if (value instanceof Map) return "zset";
  if (value instanceof Set) return "set";
  if (Array.isArray(value)) return "list";
  return "hash";
}

function unknownCommand(name: string): RedisReplyError {
  return new RedisReplyError(`ERR unknown command '${name}' (not supported by the in-process engine)`);
}

function mockError(name: string, error: unknown): RedisReplyError {
  if (error instanceof TypeError && error.message.startsWith("Unsupported command")) return unknownCommand(name);
  return new RedisReplyError(error instanceof Error ? error.message : String(error));
}

/** Brings the mock's JavaScript-shaped replies back to RESP2 shapes. */
function adoptMockReply(value: unknown): RawReply {
  if (value === null || value === undefined) return null;
  if (typeof value === "string" || Buffer.isBuffer(value)) return value;
  if (typeof value === "number") {
    // RESP2 integers are whole; anything else (scores, INCRBYFLOAT) is a bulk string on the wire.
    return Number.isSafeInteger(value) ? value : String(value);
  }
  if (typeof value === "boolean") return value ? 1 : 0;
  if (Array.isArray(value)) return value.map(adoptMockReply);
  if (value instanceof Error) return new RedisReplyError(value.message);
  if (typeof value === "object") {
    // HGETALL & co. come back as objects; RESP2 has them as flat field/value arrays.
    const flat: RawReply[] = [];
    for (const [field, entry] of Object.entries(value)) flat.push(field, adoptMockReply(entry));
    return flat;
  }
  return String(value);
}

function commandName(argv: readonly (string | Buffer)[]): string {
  const name = argv[0];
  return name === undefined ? "" : name.toString();
}

function noop(): void {}
