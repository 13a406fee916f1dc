import { outboxConfigSchema } from "../core/config";
import { PostgresOutbox, defaultOutboxOptions } from "../core/outbox/adapters/postgres-outbox";
import type { OutboxDeliveryDeps } from "../core/outbox/delivery";
import type { OutboxHandlers } from "../core/outbox/model";
import { database } from "./clients/postgres";
import { cacheOutbox } from "./cache";
import { configFor, once } from "./config";
import { lookupOutboxHandlers } from "./lookup-invalidations";
import { platform } from "./platform";
import { settingsOutboxHandlers } from "./settings";

export interface OutboxModule extends OutboxDeliveryDeps {
  readonly store: PostgresOutbox;
  readonly batch: number;
}

/** The container's outbox store (Postgres) and what delivery needs. */
export function outbox(): OutboxModule {
  return once(outbox, () => {
    const config = configFor(outboxConfigSchema);
    const store = new PostgresOutbox(database(), defaultOutboxOptions);
    return { store, log: platform().logger, batch: config.OUTBOX_DRAIN_BATCH };
  });
}

/**
 * Every topic the drain delivers, from the capabilities that write outbox rows. Each capability
 * adds its handlers here (imported lazily, so only the drain function pays for all of them).
 */
const handlerSources: readonly (() => Promise<OutboxHandlers>)[] = [
  // lookups.invalidate: cache invalidations owed by mapping changes (core/lookups/invalidation.ts).
  async () => lookupOutboxHandlers(),
  // core/cache: tag bumps owed by committed writes (reconciliation events, equity, …). A static
  // import: only the drain imports this module, and a dynamic one made esbuild wrap core/config
  // lazily, which defeats tree shaking of zod/locales (every locale in the bundle).
  async () => cacheOutbox(),
  // settings.fast-copy: a user's Redis fast copy after a committed change (static, as above).
  async () => settingsOutboxHandlers(),
];

export async function outboxHandlers(): Promise<OutboxHandlers> {
  const all = await Promise.all(handlerSources.map((source) => source()));
  return Object.assign({}, ...all) as OutboxHandlers;
}
