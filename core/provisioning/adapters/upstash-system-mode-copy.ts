import type { Redis } from "@upstash/redis";
import type { RedisKeys } from "../../redis/keys";
import { systemModes } from "../model";
import type { SystemMode } from "../model";
import type { ModeSnapshot, SystemModeCopy } from "../ports";

/** Writes `<version>:<mode>` unless the key holds a newer version; refreshes the TTL either way. */
const WRITE_IF_NEWER = `
local current = redis.call('GET', KEYS[1])
if current then
  local version = tonumber(string.match(current, '^(%d+):'))
  if version and version > tonumber(ARGV[1]) then
    return 0
  end
end
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. ARGV[2], 'EX', tonumber(ARGV[3]))
return 1
`;

export function parseModeCopy(value: unknown): ModeSnapshot | null {
  const match = typeof value === "string" ? /^(\d+):([a-z_]+)$/.exec(value) : null;
  if (!match?.[1] || !match[2] || !(systemModes as readonly string[]).includes(match[2])) return null;
  return { version: Number(match[1]), mode: match[2] as SystemMode };
}

/** The Redis copy of the system mode: one GET per check, a compare-and-set write. */
export class UpstashSystemModeCopy implements SystemModeCopy {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async read(): Promise<ModeSnapshot | null> {
    return parseModeCopy(await this.redis.get<string>(this.keys.systemMode()));
  }

  async write(snapshot: ModeSnapshot, ttlSeconds: number): Promise<void> {
    await this.redis.eval(WRITE_IF_NEWER, [this.keys.systemMode()], [String(snapshot.version), snapshot.mode, String(ttlSeconds)]);
  }
}
