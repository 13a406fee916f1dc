import { createHash } from "node:crypto";

/**
 * Upstash accepts Lua shebang flags that Redis does not: `#!lua flags=allow-key-locking` (lock only
 * the declared keys), which @upstash/ratelimit >= 2.1 puts on every script. Redis refuses such a
 * script ("Unexpected flag in script shebang"), so the local endpoint drops the flag before Redis
 * sees it (Redis then takes its usual global lock: the same results) and answers EVALSHA of the
 * original script with the script Redis actually loaded.
 */
const UPSTASH_ONLY_FLAGS = new Set(["allow-key-locking"]);
const SHEBANG = /^#!lua(?:[ \t]+flags=([^\r\n]*))?(\r?\n)/;

const sha1 = (text: string) => createHash("sha1").update(text).digest("hex");

/** sha1 of a script as the client sent it -> sha1 of the script Redis loaded. Content-addressed, so shared. */
const loadedAs = new Map<string, string>();

/** The script without Upstash-only flags (unchanged when it has none). */
export function withoutUpstashFlags(script: string): string {
  const match = SHEBANG.exec(script);
  if (!match) return script;
  const flags = (match[1] ?? "").split(",").map((flag) => flag.trim()).filter(Boolean);
  const kept = flags.filter((flag) => !UPSTASH_ONLY_FLAGS.has(flag));
  if (kept.length === flags.length) return script;
  // No flag left: no shebang at all, as the library's scripts were before 2.1 (and any engine takes).
  const shebang = kept.length > 0 ? `#!lua flags=${kept.join(",")}${match[2] ?? "\n"}` : "";
  const rewritten = shebang + script.slice(match[0].length);
  loadedAs.set(sha1(script), sha1(rewritten));
  return rewritten;
}

/** The arguments of EVAL/EVALSHA/SCRIPT LOAD as Redis should get them. */
export function scriptArgsForRedis(name: string, args: (string | Buffer)[]): (string | Buffer)[] {
  const [first, ...rest] = args;
  if (first === undefined) return args;
  if (name === "EVAL" || name === "EVAL_RO") return [withoutUpstashFlags(first.toString()), ...rest];
  if (name === "EVALSHA" || name === "EVALSHA_RO") return [loadedAs.get(first.toString().toLowerCase()) ?? first, ...rest];
  if (name === "SCRIPT" && first.toString().toUpperCase() === "LOAD" && rest[0] !== undefined) return [first, withoutUpstashFlags(rest[0].toString()), ...rest.slice(1)];
  return args;
}
