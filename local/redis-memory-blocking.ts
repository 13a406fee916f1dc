import { abortError, RedisReplyError } from "./redis-backend";
import type { RawReply } from "./redis-backend";

/**
 * Blocking commands on the in-process engine, which has none (and an XREAD that misreads ids):
 * each is retried in its non-blocking form until it has an answer, its timeout passes or the
 * caller leaves. Inside a transaction it gets one try, as Redis does not wait there either.
 */

type Run = (name: string, args: readonly string[]) => Promise<RawReply>;

interface Emulation {
  /** How long to wait in milliseconds (0: until the caller leaves), or the error Redis gives. */
  timeoutMs(args: readonly string[]): number | RedisReplyError;
  /** The arguments of each try, worked out once (XREAD's `$` means "after the last entry now"). */
  prepare?(run: Run, args: readonly string[]): Promise<readonly string[]>;
  /** One non-blocking try: the reply, or undefined while the command would keep waiting. */
  attempt(run: Run, args: readonly string[]): Promise<RawReply | undefined>;
}

const POLL_MS = 10;

/** Not a blocking form (XREAD without BLOCK): one try, whatever the caller. */
const ONE_TRY = -1;

function seconds(raw: string | undefined): number | RedisReplyError {
  const value = Number(raw);
  if (raw === undefined || !Number.isFinite(value)) return new RedisReplyError("ERR timeout is not a float or out of range");
  if (value < 0) return new RedisReplyError("ERR timeout is negative");
  return value * 1000;
}

const isEmpty = (reply: RawReply): boolean => reply === null || (Array.isArray(reply) && reply.length === 0);

/** BLPOP / BRPOP / BZPOPMIN / BZPOPMAX key [key ...] timeout: the first key with something, named in the reply. */
function popFromFirst(pop: string): Emulation {
  return {
    timeoutMs: (args) => seconds(args.at(-1)),
    async attempt(run, args) {
      for (const key of args.slice(0, -1)) {
        const reply = await run(pop, [key]);
        if (reply instanceof RedisReplyError) return reply;
        if (!isEmpty(reply)) return [key, ...(Array.isArray(reply) ? reply : [reply])];
      }
      return undefined;
    },
  };
}

/** A command whose arguments before the timeout are those of its non-blocking twin. */
function twin(command: string, timeoutAt: "first" | "last"): Emulation {
  return {
    timeoutMs: (args) => seconds(timeoutAt === "first" ? args[0] : args.at(-1)),
    async attempt(run, args) {
      const reply = await run(command, timeoutAt === "first" ? args.slice(1) : args.slice(0, -1));
      return isEmpty(reply) ? undefined : reply;
    },
  };
}

/**
 * XREAD [COUNT n] [BLOCK ms] STREAMS key ... id ...: read with XRANGE, since the mock's own XREAD
 * includes the entry named by the id and finds nothing after `0-0`. Linear in the stream's length,
 * which suits a development engine.
 */
const streamRead: Emulation = {
  timeoutMs(args) {
    const at = optionAt(args, "BLOCK");
    if (at < 0) return ONE_TRY;
    const value = Number(args[at + 1]);
    return Number.isInteger(value) && value >= 0 ? value : new RedisReplyError("ERR timeout is not an integer or out of range");
  },
  async prepare(run, args) {
    const streamsAt = optionAt(args, "STREAMS");
    const names = args.slice(streamsAt + 1);
    const keys = names.slice(0, names.length / 2);
    const ids = await Promise.all(names.slice(names.length / 2).map(async (id, i) => (id === "$" ? lastEntryId(run, keys[i]!) : id)));
    return [...args.slice(0, streamsAt + 1), ...keys, ...ids];
  },
  async attempt(run, args) {
    const countAt = optionAt(args, "COUNT");
    const count = countAt < 0 ? Number.POSITIVE_INFINITY : Number(args[countAt + 1]);
    const names = args.slice(optionAt(args, "STREAMS") + 1);
    const streams: RawReply[] = [];
    for (let i = 0; i < names.length / 2; i++) {
      const key = names[i]!;
      const after = names[names.length / 2 + i]!;
      // The whole stream, filtered here: the mock's XRANGE finds nothing from a full `ms-seq` id.
      const entries = await run("XRANGE", [key, "-", "+"]);
      if (entries instanceof RedisReplyError) return entries;
      const newer = (Array.isArray(entries) ? entries : []).filter((entry) => Array.isArray(entry) && compareIds(String(entry[0]), after) > 0);
      if (newer.length > 0) streams.push([key, newer.slice(0, count)]);
    }
    return streams.length > 0 ? streams : undefined;
  },
};

async function lastEntryId(run: Run, key: string): Promise<string> {
  const reply = await run("XREVRANGE", [key, "+", "-", "COUNT", "1"]);
  const id = Array.isArray(reply) && Array.isArray(reply[0]) ? reply[0][0] : undefined;
  return id === undefined || id === null || id instanceof RedisReplyError || Array.isArray(id) ? "0-0" : id.toString();
}

/** Options precede STREAMS; after it come key names and ids, which may spell anything. */
function optionAt(args: readonly string[], option: string): number {
  for (let i = 0; i < args.length; i++) {
    const word = args[i]!.toUpperCase();
    if (word === option) return i;
    if (word === "STREAMS") return -1;
  }
  return -1;
}

/** Stream ids `ms-seq` (or `ms`) in order. */
function compareIds(a: string, b: string): number {
  const [aMs = 0n, aSeq = 0n] = a.split("-").map(BigInt);
  const [bMs = 0n, bSeq = 0n] = b.split("-").map(BigInt);
  if (aMs !== bMs) return aMs < bMs ? -1 : 1;
  return aSeq === bSeq ? 0 : aSeq < bSeq ? -1 : 1;
}

const EMULATIONS: Readonly<Record<string, Emulation>> = {
  BLPOP: popFromFirst("LPOP"),
  BRPOP: popFromFirst("RPOP"),
  BZPOPMIN: popFromFirst("ZPOPMIN"),
  BZPOPMAX: popFromFirst("ZPOPMAX"),
  BRPOPLPUSH: twin("RPOPLPUSH", "last"),
  BLMOVE: twin("LMOVE", "last"),
  BLMPOP: twin("LMPOP", "first"),
  BZMPOP: twin("ZMPOP", "first"),
  XREAD: streamRead,
  // No replicas and no AOF: nothing to wait for.
  WAIT: { timeoutMs: () => 0, attempt: async () => 0 },
  WAITAOF: { timeoutMs: () => 0, attempt: async () => [0, 0] },
};

/**
 * Runs a blocking command by retrying its non-blocking form. Without `signal` (inside a
 * transaction) it makes one try and answers nil when that finds nothing.
 */
export async function emulateBlocking(run: Run, name: string, args: readonly string[], signal?: AbortSignal): Promise<RawReply> {
  const emulation = EMULATIONS[name.toUpperCase()];
  if (!emulation) return new RedisReplyError(`ERR unknown command '${name}' (not supported by the in-process engine)`);
  const timeoutMs = emulation.timeoutMs(args);
  if (timeoutMs instanceof RedisReplyError) return timeoutMs;
  const deadline = timeoutMs === 0 ? Number.POSITIVE_INFINITY : Date.now() + timeoutMs;
  const tryArgs = emulation.prepare ? await emulation.prepare(run, args) : args;
  for (;;) {
    const reply = await emulation.attempt(run, tryArgs);
    if (reply !== undefined) return reply;
    if (signal === undefined || timeoutMs === ONE_TRY || Date.now() >= deadline) return null;
    if (signal.aborted) throw abortError(signal);
    await new Promise((resolve) => setTimeout(resolve, Math.min(POLL_MS, Math.max(0, deadline - Date.now()))));
  }
}
