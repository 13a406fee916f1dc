/**
 * What the local Upstash endpoint runs commands on: a real Redis server (redis-server-backend.ts)
 * or the in-process engine (redis-memory-backend.ts).
 */

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

/** What a SUBSCRIBE / PSUBSCRIBE connection hears, in Redis' own terms. */
export type PubSubEvent =
  | { readonly type: "subscribe" | "psubscribe"; readonly name: string; readonly count: number }
  | { readonly type: "message"; readonly channel: string; readonly message: Buffer }
  | { readonly type: "pmessage"; readonly pattern: string; readonly channel: string; readonly message: Buffer };

export interface Subscription {
  /** Resolves once the subscription has ended: close(), or Redis went away. */
  readonly ended: Promise<void>;
  close(): Promise<void>;
}

export interface RedisBackend {
  readonly kind: "server" | "memory";
  /** Run one command on the shared connection; error replies resolve to RedisReplyError, only transport failures reject. */
  call(command: string, args: readonly (string | Buffer)[]): Promise<RawReply>;
  /**
   * A command that may wait ({@link isBlockingCommand}), run where its wait holds up no other caller;
   * aborting `signal` (the HTTP client went away) ends the wait and rejects.
   */
  callBlocking(command: string, args: readonly (string | Buffer)[], signal: AbortSignal): Promise<RawReply>;
  /**
   * MULTI/EXEC of several commands (each `[name, ...args]`) atomically. A command rejected at queue
   * time aborts the whole transaction (EXECABORT, as a RedisReplyError); runtime errors are per entry.
   * Blocking commands do not wait inside a transaction, as in Redis.
   */
  transaction(commands: readonly (readonly (string | Buffer)[])[]): Promise<RawReply[] | RedisReplyError>;
  /** SUBSCRIBE (channels) or PSUBSCRIBE (patterns) on a connection of its own, until close(). */
  subscribe(kind: "channel" | "pattern", names: readonly string[], onEvent: (event: PubSubEvent) => void): Promise<Subscription>;
  close(): Promise<void>;
}

const ALWAYS_BLOCKING: ReadonlySet<string> = new Set([
  "BLPOP",
  "BRPOP",
  "BLMOVE",
  "BRPOPLPUSH",
  "BZPOPMIN",
  "BZPOPMAX",
  "BLMPOP",
  "BZMPOP",
  "WAIT",
  "WAITAOF",
]);

/** Commands that may wait for data or replicas: BLPOP & co., and XREAD / XREADGROUP with BLOCK. */
export function isBlockingCommand(name: string, args: readonly (string | Buffer)[]): boolean {
  const upper = name.toUpperCase();
  if (ALWAYS_BLOCKING.has(upper)) return true;
  return (upper === "XREAD" || upper === "XREADGROUP") && hasBlockOption(args);
}

/** Options precede STREAMS; after it come key names and ids, which may spell anything. */
function hasBlockOption(args: readonly (string | Buffer)[]): boolean {
  for (const arg of args) {
    const word = arg.toString().toUpperCase();
    if (word === "STREAMS") return false;
    if (word === "BLOCK") return true;
  }
  return false;
}

export function commandName(argv: readonly (string | Buffer)[]): string {
  const name = argv[0];
  return name === undefined ? "" : name.toString();
}

export function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error("aborted");
}
