import type { Redis } from "@upstash/redis";
import type { RedisKeys } from "../../redis/keys";
import { decodeMeta, encodeMeta, legacyContentHash } from "../fast-copy";
import type { SettingsType } from "../model";
import type { FastCopyDisplaced, FastCopySlot, FastCopySnapshot, FastCopyStore, FastCopyWrite } from "../ports";
import { legacyHashTypes, toLegacyRepresentation } from "../schemas";

/**
 * Writes one type's legacy key and its meta field, unless the meta already holds a newer version
 * (a late refresh never puts an older document back) or the same one with the key present (a
 * repeated refresh costs nothing, and a bot's direct edit of that version is left for the sync).
 * The version is read from the meta JSON by pattern: it is written first (`{"v":N,`), and the
 * in-process Redis engine has no cjson. Returns {1, previous meta, previous content} when it wrote
 * (so the caller can tell whether it replaced a bot's direct edit), {0} when it did not.
 * KEYS: legacy key, meta key. ARGV: type, version, mode (json | hash | delete), meta, then the JSON
 * string or the hash's field/value pairs.
 */
const WRITE_IF_NEWER = `local current = redis.call("HGET", KEYS[2], ARGV[1])
if current then
  local stored = tonumber(string.match(current, '^{"v":(%d+)'))
  local version = tonumber(ARGV[2])
  if stored and (stored > version or (stored == version and redis.call("EXISTS", KEYS[1]) == 1)) then return {0} end
end
local read = "HGETALL"
if ARGV[1] == "params" then read = "GET" end
local ok, previous = pcall(redis.call, read, KEYS[1])
if not ok or not previous then previous = "" end
redis.call("DEL", KEYS[1])
if ARGV[3] == "json" then
  redis.call("SET", KEYS[1], ARGV[5])
elseif ARGV[3] == "hash" and #ARGV > 5 then
  local unpacked = table.unpack or unpack
  redis.call("HSET", KEYS[1], unpacked(ARGV, 5))
end
redis.call("HSET", KEYS[2], ARGV[1], ARGV[4])
return {1, current or "", previous}`;

/** What the script found before writing: a content that no longer hashes to its meta was a bot's edit. */
function displacedBy(type: SettingsType, reply: readonly unknown[]): FastCopyDisplaced | null {
  const [, rawMeta, previous] = reply;
  let content: Record<string, unknown> | null = null;
  if (type === "params") {
    if (typeof previous === "string" && previous !== "") {
      try {
        content = asRecord(JSON.parse(previous)) ?? { value: previous };
      } catch {
        content = { value: previous };
      }
    } else content = asRecord(previous) as Record<string, unknown> | null;
  } else if (Array.isArray(previous) && previous.length > 0) {
    content = Object.fromEntries(Array.from({ length: Math.floor(previous.length / 2) }, (_, i) => [String(previous[2 * i]), previous[2 * i + 1]]));
  }
  if (!content) return null;
  const meta = decodeMeta(rawMeta === "" ? null : rawMeta);
  if (meta && !meta.deleted && legacyContentHash(content) === meta.hash) return null;
  return { content, version: meta?.version ?? null };
}

const asRecord = (value: unknown): Readonly<Record<string, unknown>> | null =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null;


/** The fast copy in the legacy keys bots read, through @upstash/redis: one pipeline per read, one script per write. */
export class UpstashFastCopy implements FastCopyStore {
  private readonly writeScript;

  constructor(
    private readonly redis: Redis,
    private readonly keys: RedisKeys,
  ) {
    this.writeScript = redis.createScript<unknown[]>(WRITE_IF_NEWER);
  }

  async read(base: string): Promise<FastCopySnapshot> {
    const [preferences, params, dualSide, meta] = await this.redis
      .pipeline()
      .hgetall(this.keys.settingsFastCopy(base, "preferences"))
      .get(this.keys.settingsFastCopy(base, "params"))
      .hgetall(this.keys.settingsFastCopy(base, "dual_side"))
      .hgetall(this.keys.settingsMeta(base))
      .exec<[unknown, unknown, unknown, unknown]>();
    const metas = asRecord(meta) ?? {};
    const slot = (type: SettingsType, content: unknown): FastCopySlot => ({ content: content ?? null, meta: decodeMeta(metas[type]) });
    return {
      preferences: slot("preferences", asRecord(preferences)),
      // The client parses a JSON string; one it cannot parse stays a string (and fails validation).
      params: slot("params", params),
      dual_side: slot("dual_side", asRecord(dualSide)),
    };
  }

  async write(base: string, state: FastCopyWrite): Promise<FastCopyDisplaced | null> {
    const updatedAt = state.updatedAt.toISOString();
    const keys = [this.keys.settingsFastCopy(base, state.type), this.keys.settingsMeta(base)];
    if (state.deleted) {
      return displacedBy(state.type, await this.writeScript.exec(keys, [state.type, String(state.version), "delete", encodeMeta({ version: state.version, deleted: true, updatedAt })]));
    }
    const legacy = toLegacyRepresentation(state.type, state.settings);
    const meta = encodeMeta({ version: state.version, hash: legacyContentHash(legacy), updatedAt, settings: state.settings });
    const content = legacyHashTypes.has(state.type) ? Object.entries(legacy).flatMap(([key, value]) => [key, String(value)]) : [JSON.stringify(legacy)];
    return displacedBy(state.type, await this.writeScript.exec(keys, [state.type, String(state.version), legacyHashTypes.has(state.type) ? "hash" : "json", meta, ...content]));
  }
}
