// First: fengari (loaded by ioredis-mock) reads its configuration when first loaded.
import "./redis-memory-lua-config";
import { randomUUID } from "node:crypto";
import { Command, Redis } from "ioredis";
import RedisMock from "ioredis-mock";
import { commandName, isBlockingCommand, RedisReplyError } from "./redis-backend";
import type { PubSubEvent, RawReply, RedisBackend, Subscription } from "./redis-backend";
import { emulateBlocking } from "./redis-memory-blocking";
import { adaptForMock } from "./redis-memory-options";
import type { MockCommand, MockKeyspace } from "./redis-memory-options";
import { createScriptCommands } from "./redis-memory-scripts";

/**
 * The Upstash endpoint's backend when there is no Redis server: the in-process engine of
 * ioredis-mock, with Redis' type checks and blocking commands added where the mock lacks them.
 */

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
type MockInstance = InstanceType<typeof RedisMock>;

/** The mock's keyspace (not in its type declarations); read synchronously for type checks. */
interface MockData {
  get(key: string): unknown;
  /** Every key not expired. */
  keys(): string[];
}

/** The mock's expiry times, absolute milliseconds (not in its type declarations either). */
interface MockExpires {
  has(key: string): boolean;
  get(key: string): number;
}

/** The mock is an EventEmitter with helper methods too; only names of Redis commands may reach it. */
const redisCommandNames: ReadonlySet<string> = new Set(Redis.prototype.getBuiltinCommands());

export function createMemoryRedisBackend(): RedisBackend {
  // The mock shares a keyspace between instances with the same host:port; a unique host gives this engine its own.
  const mock = new RedisMock({ host: `memory-${randomUUID()}` });
  const run = commandRunner(mock);
  const textRun = (name: string, args: readonly string[]) => run(name, args);
  /** Blocking commands get one try here (inside a transaction Redis does not wait either); XREAD is always emulated. */
  const runOnce = (name: string, args: readonly (string | Buffer)[]): Promise<RawReply> =>
    isBlockingCommand(name, args) || name.toUpperCase() === "XREAD" ? emulateBlocking(textRun, name, args.map(String)) : run(name, args);

  let closing: Promise<void> | undefined;
  return {
    kind: "memory",
    call: runOnce,
    callBlocking: (name, args, signal) => emulateBlocking(textRun, name, args.map(String), signal),
    async transaction(commands) {
      const pending = commands.map((argv) => runOnce(commandName(argv), argv.slice(1)));
      return Promise.all(pending);
    },
    subscribe: (kind, names, onEvent) => subscribeOnDuplicate(mock, kind, names, onEvent),
    close() {
      closing ??= (async () => {
        await mock.flushall();
        mock.disconnect();
      })();
      return closing;
    },
  };
}

/** Runs each command synchronously (before returning), which is what makes transactions and scripts atomic here. */
function commandRunner(mock: MockInstance): (name: string, args: readonly (string | Buffer)[]) => Promise<RawReply> {
  const methods = mock as unknown as Record<string, unknown>;
  const data = (mock as unknown as { data: MockData }).data;
  const emulators = commandEmulatorsOf(mock);
  const keyspace = keyspaceOf(mock, emulators);
  /** The engine's own checks and rewrites, then what the mock should run (or the reply already decided). */
  const route = (asked: string, given: string[]): MockCommand => {
    const wrongType = wrongTypeOf(asked, given[0], data);
    return wrongType ? { reply: wrongType } : adaptForMock(asked, given, keyspace, Date.now());
  };
  const scripts = createScriptCommands((name, args) => runInScript(mock, emulators, route, name, args));
  return (name, args) => {
    const asked = name.toLowerCase();
    // The mock keys its store by string; Buffer keys would be compared by identity.
    const given = args.map((arg) => (typeof arg === "string" ? arg : arg.toString()));
    const scripted = scripts.handle(asked, given);
    if (scripted !== undefined) return Promise.resolve(scripted);
    if (!redisCommandNames.has(asked)) return Promise.resolve(unknownCommand(name));
    const adapted = route(asked, given);
    if ("reply" in adapted) return Promise.resolve(adapted.reply);
    const { name: lower, args: textArgs } = adapted;
    // Buffer variants keep bulk strings as bytes, like the real server's replies.
    const method = methods[`${lower}Buffer`] ?? methods[lower];
    if (typeof method !== "function") return Promise.resolve(unknownCommand(name));
    try {
      const pending = withoutReplyTransformer(lower, () => (method as MockMethod).apply(mock, textArgs));
      const then = adapted.then ?? ((reply: RawReply) => reply);
      return Promise.resolve(pending).then((reply) => then(adoptMockReply(reply)), (error: unknown) => mockError(name, error));
    } catch (error) {
      return Promise.resolve(mockError(name, error));
    }
  };
}

function keyspaceOf(mock: MockInstance, emulators: CommandEmulators): MockKeyspace {
  const data = (mock as unknown as { data: MockData }).data;
  const expires = (mock as unknown as { expires: MockExpires }).expires;
  const keyspace: MockKeyspace = {
    expiresAt: (key) => (expires.has(key) ? expires.get(key) : undefined),
    exists: (key) => data.get(key) !== undefined && !(expires.has(key) && expires.get(key) <= Date.now()),
    typeOf: (key) => (keyspace.exists(key) ? storedType(data.get(key)) : "none"),
    liveKeys: () => data.keys(),
    // The mock's KEYS matches as Redis' stringmatchlen does (it is a port of it); it reads the keys
    // from `this.data.keys()`, so given a data of these keys alone it filters just them.
    matching: (pattern, keys) => emulators.keys!.call({ data: { keys: () => keys } }, pattern) as string[],
    scoreOf: (key, member) => {
      const value = data.get(key);
      // The mock keeps a sorted set as a Map of member -> { score, value }.
      const entry: unknown = value instanceof Map ? value.get(member) : undefined;
      return typeof entry === "object" && entry !== null && "score" in entry ? Number(entry.score) : undefined;
    },
  };
  return keyspace;
}

type CommandEmulators = Readonly<Record<string, MockMethod>>;

/**
 * The mock's command functions themselves, which return their reply (or throw) synchronously: its
 * methods hand replies over in promises, and a script must have each reply before it goes on. The
 * mock's Pipeline copies them through its _createCommand hook (called per command with the
 * function), which here just keeps them.
 */
function commandEmulatorsOf(mock: MockInstance): CommandEmulators {
  // A duplicate shares the keyspace; asking it for a pipeline leaves this mock's own batch state alone.
  const probe = mock.duplicate();
  const pipelinePrototype = Object.getPrototypeOf(probe.pipeline()) as { copyCommands(this: object): void };
  probe.disconnect();
  const collector: Record<string, unknown> = { redis: mock, _createCommand: (_name: string, emulator: MockMethod) => emulator };
  pipelinePrototype.copyCommands.call(collector);
  const emulators: Record<string, MockMethod> = {};
  for (const [name, value] of Object.entries(collector)) if (typeof value === "function" && name !== "_createCommand") emulators[name] = value as MockMethod;
  return emulators;
}

/** One command of a script: the same checks and rewrites as any other, run to completion now. */
function runInScript(mock: MockInstance, emulators: CommandEmulators, route: (asked: string, given: string[]) => MockCommand, name: string, args: string[]): RawReply {
  const asked = name.toLowerCase();
  if (!redisCommandNames.has(asked)) return unknownCommand(name);
  const adapted = route(asked, args);
  if ("reply" in adapted) return adapted.reply;
  const emulator = emulators[adapted.name];
  if (emulator === undefined) return unknownCommand(name);
  try {
    const reply = emulator.apply(mock, adapted.args);
    if (reply instanceof Promise) {
      reply.catch(() => {});
      return new RedisReplyError(`ERR '${name}' cannot run inside a script on the in-process engine`);
    }
    return (adapted.then ?? ((value: RawReply) => value))(adoptMockReply(reply));
  } catch (error) {
    return mockError(name, error);
  }
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

interface MockSubscriber {
  on(event: "message", listener: (channel: string, message: string) => void): void;
  on(event: "pmessage", listener: (pattern: string, channel: string, message: string) => void): void;
  subscribe(name: string): Promise<number>;
  psubscribe(name: string): Promise<number>;
  unsubscribe(): Promise<unknown>;
  punsubscribe(): Promise<unknown>;
  disconnect(): void;
}

/** A duplicate of the mock shares its keyspace and channels, like a second connection to one server. */
async function subscribeOnDuplicate(
  mock: MockInstance,
  kind: "channel" | "pattern",
  names: readonly string[],
  onEvent: (event: PubSubEvent) => void,
): Promise<Subscription> {
  const subscriber = mock.duplicate() as unknown as MockSubscriber;
  subscriber.on("message", (channel, message) => onEvent({ type: "message", channel, message: Buffer.from(message) }));
  subscriber.on("pmessage", (pattern, channel, message) => onEvent({ type: "pmessage", pattern, channel, message: Buffer.from(message) }));
  for (const name of names) {
    const count = kind === "channel" ? await subscriber.subscribe(name) : await subscriber.psubscribe(name);
    onEvent({ type: kind === "channel" ? "subscribe" : "psubscribe", name, count });
  }
  let end: () => void = () => {};
  const ended = new Promise<void>((resolve) => (end = resolve));
  return {
    ended,
    close: async () => {
      // The mock keeps a disconnected duplicate's subscriptions; PUBLISH would still count it.
      await (kind === "channel" ? subscriber.unsubscribe() : subscriber.punsubscribe());
      subscriber.disconnect();
      end();
    },
  };
}
