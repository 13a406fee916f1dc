import { guardConfigSchema } from "../core/config";
import { PostgresEquityStore } from "../core/guards/adapters/postgres-equity-store";
import type { GuardViewDeps } from "../core/guards/get-guards";
import type { GuardOptions } from "../core/guards/model";
import type { GuardViewWire } from "../core/guards/presenters";
import type { RecordEquityDeps } from "../core/guards/record-equity";
import { database } from "./clients/postgres";
import { configFor, once } from "./config";
import { recordHealth } from "./health-events";
import { userDirectory } from "./identity";
import { outbox } from "./outbox";
import { platform } from "./platform";
import { cachedUserDirectory } from "./user-refs";
import { viewCache, viewWriteHandlers } from "./views";

export function guardOptions(): GuardOptions {
  return once(guardOptions, () => {
    const config = configFor(guardConfigSchema);
    if (config.GUARD_CRITICAL_PCT < config.GUARD_WARNING_PCT) throw new Error("GUARD_CRITICAL_PCT must not be below GUARD_WARNING_PCT");
    return { windowDays: config.GUARD_WINDOW_DAYS, thresholds: { warningPct: config.GUARD_WARNING_PCT, criticalPct: config.GUARD_CRITICAL_PCT } };
  });
}

function equityStore(): PostgresEquityStore {
  return once(equityStore, () => {
    const store = outbox().store;
    return new PostgresEquityStore(database(), (messages) => store.enqueue(messages));
  });
}

export function recordEquityDeps(): RecordEquityDeps {
  return once(recordEquityDeps, () => {
    const { clock, ids, logger } = platform();
    return {
      directory: userDirectory(),
      store: equityStore(),
      outbox: outbox(),
      outboxHandlers: viewWriteHandlers(),
      health: recordHealth(),
      log: logger,
      clock,
      ids,
      options: guardOptions(),
    };
  });
}

export function guardViewDeps(): GuardViewDeps {
  return once(guardViewDeps, () => ({
    directory: cachedUserDirectory(),
    store: equityStore(),
    cache: viewCache<GuardViewWire>("guards"),
    clock: platform().clock,
    options: guardOptions(),
  }));
}
