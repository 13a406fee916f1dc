import type { Redis } from "@upstash/redis";
import type { RedisKeys } from "../../redis/keys";
import type { BreakerStates, ContainerMinute, FleetStatsStore } from "../ports";
import { breakerNames } from "../ports";
import { isStatCounter } from "../stats";
import type { StatCounter } from "../stats";

/**
 * Field layout of a minute's hash: `c|<container>|<counter>` holds that container's count for the
 * minute; `b|<container>|<breaker>` holds `<stamp ms>|<state>`. Counts only grow and breaker
 * reports only get newer, so the script keeps the larger / newer value: a late or repeated write
 * never undoes a later one.
 * ARGV: ttl seconds, then per key: its number of fields, then field/value pairs.
 */
const MERGE = `local ttl = ARGV[1]
local at = 2
for i = 1, #KEYS do
  local n = tonumber(ARGV[at])
  at = at + 1
  for j = 1, n do
    local field, value = ARGV[at], ARGV[at + 1]
    at = at + 2
    local old = redis.call("HGET", KEYS[i], field)
    if string.sub(field, 1, 2) == "c|" then
      if not old or tonumber(old) < tonumber(value) then redis.call("HSET", KEYS[i], field, value) end
    else
      local oldStamp = old and tonumber(string.match(old, "^(%d+)|")) or -1
      if tonumber(string.match(value, "^(%d+)|")) > oldStamp then redis.call("HSET", KEYS[i], field, value) end
    end
  end
  redis.call("EXPIRE", KEYS[i], ttl)
end
return #KEYS`;

function fieldsOf(report: ContainerMinute): string[] {
  const fields: string[] = [];
  for (const [counter, value] of Object.entries(report.counts)) {
    if (value) fields.push(`c|${report.container}|${counter}`, String(value));
  }
  if (report.breakers) {
    for (const name of breakerNames) fields.push(`b|${report.container}|${name}`, `${report.breakers.stampMs}|${report.breakers.states[name]}`);
  }
  return fields;
}

interface Parsed {
  counts: Partial<Record<StatCounter, number>>;
  breakers?: { stampMs: number; states: Record<string, string> };
}

/** One minute's hash back into per-container reports; unknown fields (a newer version's) are skipped. */
function parseMinute(minute: number, hash: Record<string, unknown> | null): ContainerMinute[] {
  const byContainer = new Map<string, Parsed>();
  for (const [field, raw] of Object.entries(hash ?? {})) {
    const [kind, container, name] = field.split("|");
    if (!container || !name) continue;
    const entry = byContainer.get(container) ?? { counts: {} };
    byContainer.set(container, entry);
    if (kind === "c" && isStatCounter(name)) entry.counts[name] = Number(raw) || 0;
    if (kind === "b") {
      const [stamp, state] = String(raw).split("|");
      entry.breakers ??= { stampMs: Number(stamp), states: {} };
      entry.breakers.stampMs = Math.max(entry.breakers.stampMs, Number(stamp));
      entry.breakers.states[name] = state ?? "unknown";
    }
  }
  return [...byContainer].map(([container, { counts, breakers }]) => ({
    minute,
    container,
    counts,
    breakers: breakers ? { stampMs: breakers.stampMs, states: { legacy: breakers.states.legacy ?? "unknown", cache: breakers.states.cache ?? "unknown" } as BreakerStates } : undefined,
  }));
}

/** Per-minute fleet figures in Redis: one script call per flush, one pipelined HGETALL per read. */
export class UpstashFleetStatsStore implements FleetStatsStore {
  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {}

  async write(minutes: readonly ContainerMinute[], ttlSeconds: number): Promise<void> {
    const withFields = minutes.map((report) => ({ report, fields: fieldsOf(report) })).filter(({ fields }) => fields.length > 0);
    if (withFields.length === 0) return;
    const args = [String(ttlSeconds), ...withFields.flatMap(({ fields }) => [String(fields.length / 2), ...fields])];
    await this.redis.eval(MERGE, withFields.map(({ report }) => this.keys.lookupStatsMinute(report.minute)), args);
  }

  async read(minutes: readonly number[]): Promise<ContainerMinute[]> {
    if (minutes.length === 0) return [];
    const pipeline = this.redis.pipeline();
    for (const minute of minutes) pipeline.hgetall(this.keys.lookupStatsMinute(minute));
    const hashes = await pipeline.exec<(Record<string, unknown> | null)[]>();
    return minutes.flatMap((minute, i) => parseMinute(minute, hashes[i] ?? null));
  }
}
