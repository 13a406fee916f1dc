import { createHash } from "node:crypto";
import { RedisReplyError } from "./redis-backend";
import type { RawReply } from "./redis-backend";
import { createLuaEngine } from "./redis-memory-lua";
import type { LuaEngine, ScriptCommandRunner } from "./redis-memory-lua";

/**
 * EVAL, EVALSHA, EVAL_RO, EVALSHA_RO and SCRIPT LOAD / EXISTS / FLUSH / KILL for the in-process
 * engine, over a script cache as Redis keeps one (EVAL caches too, so EVALSHA finds its script).
 * ioredis-mock has EVAL and EVALSHA only, no SCRIPT: a client that loads its scripts once and runs
 * them by sha (the positions store, @upstash/redis' Script) could not run here.
 */

export interface ScriptCommands {
  /** The reply to a scripting command (`name` in lower case); undefined for any other command. */
  handle(name: string, args: readonly string[]): RawReply | undefined;
}

interface CachedScript {
  /** The script as Lua compiles it (without its shebang line). */
  readonly body: string;
  /** `#!lua flags=no-writes`: runs as read-only under EVAL too. */
  readonly noWrites: boolean;
}

/** The shebang flags Redis 7 knows; any other is refused as Redis does. */
const KNOWN_FLAGS = new Set(["no-writes", "allow-oom", "allow-stale", "no-cluster", "allow-cross-slot-keys"]);

const sha1 = (text: string): string => createHash("sha1").update(text).digest("hex");

export function createScriptCommands(runCommand: ScriptCommandRunner): ScriptCommands {
  const scripts = new ScriptCache(createLuaEngine(runCommand));
  return {
    handle(name, args) {
      switch (name) {
        case "eval":
        case "eval_ro": {
          if (args.length < 2) return wrongArgs(name);
          const sha = scripts.load(args[0]!);
          return sha instanceof RedisReplyError ? sha : scripts.evaluate(sha, args.slice(1), name === "eval_ro");
        }
        case "evalsha":
        case "evalsha_ro":
          return args.length < 2 ? wrongArgs(name) : scripts.evaluate(args[0]!.toLowerCase(), args.slice(1), name === "evalsha_ro");
        case "script":
          return args.length === 0 ? wrongArgs(name) : scripts.subcommand(args);
        default:
          return undefined;
      }
    },
  };
}

/** Compiled scripts by sha1, as Redis keeps them until SCRIPT FLUSH. */
class ScriptCache {
  private readonly cached = new Map<string, CachedScript>();

  constructor(private readonly engine: LuaEngine) {}

  load(source: string): string | RedisReplyError {
    const sha = sha1(source);
    if (this.cached.has(sha)) return sha;
    const parsed = withoutShebang(source);
    if (parsed instanceof RedisReplyError) return parsed;
    const failed = this.engine.compile(sha, parsed.body);
    if (failed) return failed;
    this.cached.set(sha, parsed);
    return sha;
  }

  /** `args`: numkeys, the keys, then the other arguments. */
  evaluate(sha: string, args: readonly string[], readOnly: boolean): RawReply {
    const script = this.cached.get(sha);
    if (!script) return new RedisReplyError("NOSCRIPT No matching script. Please use EVAL.");
    const keyCount = keyCountOf(args);
    if (keyCount instanceof RedisReplyError) return keyCount;
    return this.engine.run(sha, script.body, args.slice(1, keyCount + 1), args.slice(keyCount + 1), readOnly || script.noWrites);
  }

  subcommand(args: readonly string[]): RawReply {
    const [sub = "", ...rest] = args;
    switch (sub.toUpperCase()) {
      case "LOAD":
        return rest.length === 1 ? this.load(rest[0]!) : wrongArgs("script|load");
      case "EXISTS":
        return rest.length > 0 ? rest.map((sha) => (this.cached.has(sha.toLowerCase()) ? 1 : 0)) : wrongArgs("script|exists");
      case "FLUSH":
        this.cached.clear();
        this.engine.reset();
        return "OK";
      case "KILL":
        // Scripts run synchronously here: none can be running when a command arrives.
        return new RedisReplyError("NOTBUSY No scripts in execution right now.");
      default:
        return new RedisReplyError(`ERR unknown subcommand '${sub}'. Try SCRIPT HELP.`);
    }
  }
}

function wrongArgs(name: string): RedisReplyError {
  return new RedisReplyError(`ERR wrong number of arguments for '${name}' command`);
}

/** numkeys key ... arg ...: how many of the arguments are keys. */
function keyCountOf(args: readonly string[]): number | RedisReplyError {
  const raw = args[0] ?? "";
  if (!/^-?\d+$/.test(raw)) return new RedisReplyError("ERR value is not an integer or out of range");
  const count = Number(raw);
  if (count < 0) return new RedisReplyError("ERR Number of keys can't be negative");
  if (count > args.length - 1) return new RedisReplyError("ERR Number of keys can't be greater than number of args");
  return count;
}

/**
 * `#!lua [flags=a,b]` on the first line, as Redis 7 reads it; the line becomes empty so that Lua
 * (which does not know it) compiles the rest with its line numbers unchanged.
 */
function withoutShebang(source: string): { body: string; noWrites: boolean } | RedisReplyError {
  if (!source.startsWith("#!")) return { body: source, noWrites: false };
  const lineEnd = source.indexOf("\n");
  const line = lineEnd < 0 ? source : source.slice(0, lineEnd);
  const [engine = "", ...parts] = line.slice(2).trim().split(/\s+/);
  if (engine !== "lua") return new RedisReplyError(`ERR Could not find engine '${engine}'`);
  const flags: string[] = [];
  for (const part of parts) {
    if (!part.startsWith("flags=")) return new RedisReplyError(`ERR Unknown lua shebang option: ${part}`);
    flags.push(...part.slice("flags=".length).split(",").filter(Boolean));
  }
  const unknown = flags.find((flag) => !KNOWN_FLAGS.has(flag));
  if (unknown !== undefined) return new RedisReplyError(`ERR Unexpected flag in script shebang: ${unknown}`);
  return { body: lineEnd < 0 ? "" : source.slice(lineEnd), noWrites: flags.includes("no-writes") };
}
