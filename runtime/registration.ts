import { lookupConfigSchema } from "../core/config";
import { UpstashLookupCache } from "../core/lookups/adapters/upstash-lookup-cache";
import type { InvalidationDeliveryDeps } from "../core/lookups/invalidation";
import { PostgresOutbox } from "../core/outbox/adapters/postgres-outbox";
import { withTimeout } from "../core/resilience/timeout";
import { PostgresRegistrationStore } from "../core/registration/adapters/postgres-registration-store";
import { botRegistration } from "../core/registration/bot-registration";
import type { RegisterUserDeps } from "../core/registration/register-user";
import { defaultSettingsStatements } from "../core/settings/adapters/postgres-settings-store";
import type { BotRegistration } from "../core/telegram/ports";
import { database } from "./clients/postgres";
import { configFor, once } from "./config";
import { credentialsCipher } from "./credentials";
import { redisClient, redisKeys } from "./clients/redis";
import { platform } from "./platform";

/** User, mapping, sealed credentials and the settings' defaults, in one transaction. */
export function registrationStore(): PostgresRegistrationStore {
  return once(registrationStore, () => new PostgresRegistrationStore(database(), defaultSettingsStatements, (messages) => registrationOutbox().enqueue(messages)));
}

function registrationOutbox(): PostgresOutbox {
  return once(registrationOutbox, () => new PostgresOutbox(database()));
}

/** The lookup invalidation a registration owes, delivered after its commit with a bounded wait on Redis (the drain retries). */
function registrationInvalidations(): InvalidationDeliveryDeps {
  return once(registrationInvalidations, () => {
    const { ids, logger } = platform();
    const cache = new UpstashLookupCache(redisClient(), redisKeys(), ids);
    const timeoutMs = configFor(lookupConfigSchema).LOOKUP_CACHE_TIMEOUT_MS;
    return {
      outbox: { store: registrationOutbox(), log: logger },
      cache: { invalidateOrThrow: (identifiers) => withTimeout(cache.invalidate(identifiers), timeoutMs, "lookup cache invalidation") },
    };
  });
}

/** What registerUser needs: the store, the key ring, the lookup cache it invalidates, time and ids. */
export function registerUserDeps(): RegisterUserDeps {
  return once(registerUserDeps, () => {
    const { clock, ids, logger } = platform();
    return { store: registrationStore(), cipher: credentialsCipher(), invalidations: registrationInvalidations(), clock, ids, log: logger };
  });
}

/** BotRegistration for the Telegram bot's /setapi (the lead wires it into runtime/telegram.ts). */
export function registrationForBot(): BotRegistration {
  return once(registrationForBot, () => botRegistration(registerUserDeps()));
}
