import { PositionKeys } from "../core/redis/keys";
import { PositionsSyncSource } from "../core/positions/adapters/positions-sync-source";
import { UpstashLegacyKeys } from "../core/positions/adapters/upstash-legacy-keys";
import type { MigrateKeysDeps } from "../core/positions/migrate-keys";
import { PostgresPositionRecords } from "../core/positions/adapters/postgres-position-records";
import { UpstashPositionStore } from "../core/positions/adapters/upstash-position-store";
import type { GetPositionDeps } from "../core/positions/get-position";
import type { ListPositionsDeps } from "../core/positions/list-positions";
import type { PutPositionDeps } from "../core/positions/put-position";
import type { RemovePositionDeps } from "../core/positions/remove-position";
import { database } from "./clients/postgres";
import { rawRedisClient, redisKeys } from "./clients/redis";
import { once } from "./config";
import { userDirectory } from "./identity";
import { cachedUserDirectory } from "./user-refs";
import { platform } from "./platform";

/** Round trips to Postgres made by the positions routes in this container (bench figures). */
export const positionsQueries = { count: 0 };

export function positionKeys(): PositionKeys {
  return once(positionKeys, () => new PositionKeys(redisKeys().prefix));
}

/** Open positions in Redis (a client that leaves hash strings as written). */
export function positionStore(): UpstashPositionStore {
  return once(positionStore, () => new UpstashPositionStore(rawRedisClient(), positionKeys()));
}

export function positionRecords(): PostgresPositionRecords {
  return once(positionRecords, () => new PostgresPositionRecords(database(), () => (positionsQueries.count += 1)));
}

export function putPositionDeps(): PutPositionDeps {
  return once(putPositionDeps, () => ({ store: positionStore(), directory: userDirectory(), clock: platform().clock, ids: platform().ids }));
}

export function removePositionDeps(): RemovePositionDeps {
  return once(removePositionDeps, () => ({ store: positionStore(), records: positionRecords(), directory: userDirectory(), clock: platform().clock }));
}

export function listPositionsDeps(): ListPositionsDeps {
  // Reads resolve {ref} through the shared cache (runtime/user-refs.ts): no database query on a hit.
  return once(listPositionsDeps, () => ({ store: positionStore(), records: positionRecords(), directory: cachedUserDirectory() }));
}

export function getPositionDeps(): GetPositionDeps {
  return once(getPositionDeps, () => ({ store: positionStore(), records: positionRecords() }));
}

/** What the Telegram bot's BotPositions port needs (core/positions/list-open.ts). */
export function botPositionsDeps(): { readonly store: UpstashPositionStore } {
  return once(botPositionsDeps, () => ({ store: positionStore() }));
}

/** The positions source of the scheduled sync (registered in runtime/sync.ts). */
export function positionsSyncSource(): PositionsSyncSource {
  return once(positionsSyncSource, () => new PositionsSyncSource({ store: positionStore(), keys: positionKeys(), db: database(), clock: platform().clock, directory: userDirectory() }));
}

/** What `ops migrate-keys` uses: the legacy key space, the key standard, time. */
export function migrateKeysDeps(): MigrateKeysDeps {
  return once(migrateKeysDeps, () => {
    const { clock, ids } = platform();
    return { store: new UpstashLegacyKeys(rawRedisClient(), positionKeys(), ids), keys: positionKeys(), clock };
  });
}
