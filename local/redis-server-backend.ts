import { Command, Redis } from "ioredis";
import type { RedisOptions } from "ioredis";
import { abortError, commandName, RedisReplyError } from "./redis-backend";
import type { PubSubEvent, RawReply, RedisBackend, Subscription } from "./redis-backend";

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

const SHARED_CONNECTION: RedisOptions = {
  connectionName: "upstash-endpoint",
  // While Redis is away, fail requests after one reconnect attempt instead of holding them for seconds,
  // as Upstash answers an error rather than hanging.
  maxRetriesPerRequest: 1,
};

/** Blocking commands and subscriptions: one connection each, never reconnected behind their back. */
const OWN_CONNECTION = (name: string): RedisOptions => ({ connectionName: name, maxRetriesPerRequest: 0, retryStrategy: () => null });

/** The Upstash endpoint's backend on a real Redis server at `url`. */
export async function connectRedisBackend(url: string): Promise<RedisBackend> {
  const redis = await openConnection(url, SHARED_CONNECTION);
  let closing: Promise<void> | undefined;
  return {
    kind: "server",
    call: (name, args) => send(redis, name, args),
    callBlocking: (name, args, signal) => callOnOwnConnection(url, name, args, signal),
    transaction: (commands) => transaction(redis, commands),
    subscribe: (kind, names, onEvent) => subscribeOnOwnConnection(url, kind, names, onEvent),
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

async function openConnection(url: string, options: RedisOptions): Promise<Redis> {
  const redis = new Redis(url, {
    // RESP3 (the ioredis 6 default) would send doubles, maps and pair arrays in shapes Upstash never returns.
    protocol: 2,
    lazyConnect: true,
    // A command whose reply was lost may already have run; replaying it (or half a MULTI block) is worse than failing it.
    autoResendUnfulfilledCommands: false,
    ...options,
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
  return redis;
}

function send(redis: Redis, name: string, args: readonly (string | Buffer)[]): Promise<RawReply> {
  // Command flattens into a new array, so the caller's readonly array is never written.
  const command = new RawCommand(name, args as (string | Buffer)[], RAW_REPLY);
  void redis.sendCommand(command);
  return (command.promise as Promise<unknown>).then(adoptServerReply, replyErrorOrThrow);
}

async function transaction(redis: Redis, commands: readonly (readonly (string | Buffer)[])[]): Promise<RawReply[] | RedisReplyError> {
  // Written back to back in one tick on the one connection, so no other caller's command can land
  // inside the MULTI block; no dedicated connection needed.
  const multi = send(redis, "MULTI", []);
  const queued = commands.map((argv) => send(redis, commandName(argv), argv.slice(1)));
  const exec = send(redis, "EXEC", []);
  const [multiReply, execReply, ...queuedReplies] = await Promise.all([multi, exec, ...queued]);
  if (multiReply instanceof RedisReplyError) return multiReply;
  if (execReply instanceof RedisReplyError) {
    const rejected = queuedReplies.findIndex((reply) => reply instanceof RedisReplyError);
    const detail = rejected >= 0 ? ` (command ${rejected + 1}: ${String(queuedReplies[rejected])})` : "";
    return new RedisReplyError(`${execReply.message}${detail}`);
  }
  if (!Array.isArray(execReply)) return new RedisReplyError("EXECABORT Transaction aborted");
  return execReply;
}

/** A blocking command on a connection of its own, closed when it answers or the caller leaves. */
async function callOnOwnConnection(url: string, name: string, args: readonly (string | Buffer)[], signal: AbortSignal): Promise<RawReply> {
  signal.throwIfAborted();
  const redis = await openConnection(url, OWN_CONNECTION("upstash-endpoint-blocking"));
  const onAbort = (): void => redis.disconnect();
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    return await send(redis, name, args);
  } catch (error) {
    throw signal.aborted ? abortError(signal) : error;
  } finally {
    signal.removeEventListener("abort", onAbort);
    redis.disconnect();
  }
}

async function subscribeOnOwnConnection(
  url: string,
  kind: "channel" | "pattern",
  names: readonly string[],
  onEvent: (event: PubSubEvent) => void,
): Promise<Subscription> {
  const redis = await openConnection(url, OWN_CONNECTION("upstash-endpoint-subscriber"));
  const ended = new Promise<void>((resolve) => redis.once("end", () => resolve()));
  redis.on("messageBuffer", (channel: Buffer, message: Buffer) => onEvent({ type: "message", channel: channel.toString(), message }));
  redis.on("pmessageBuffer", (pattern: Buffer, channel: Buffer, message: Buffer) =>
    onEvent({ type: "pmessage", pattern: pattern.toString(), channel: channel.toString(), message }),
  );
  try {
    for (const name of names) {
      const count = kind === "channel" ? await redis.subscribe(name) : await redis.psubscribe(name);
      onEvent({ type: kind === "channel" ? "subscribe" : "psubscribe", name, count: Number(count) });
    }
  } catch (error) {
    redis.disconnect();
    throw error;
  }
  return {
    ended,
    close: async () => {
      redis.disconnect();
      await ended;
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

function noop(): void {}
