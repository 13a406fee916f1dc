import { PostgresRegistrationStore } from "../core/registration/adapters/postgres-registration-store";
import { botRegistration } from "../core/registration/bot-registration";
import type { RegisterUserDeps } from "../core/registration/register-user";
import { defaultSettingsStatements } from "../core/settings/adapters/postgres-settings-store";
import type { BotRegistration } from "../core/telegram/ports";
import { database } from "./clients/postgres";
import { once } from "./config";
import { credentialsCipher } from "./credentials";
import { lookupInvalidations, lookupOutbox } from "./lookups";
import { platform } from "./platform";

/** User, mapping, sealed credentials and the settings' defaults, in one transaction. */
export function registrationStore(): PostgresRegistrationStore {
  return once(registrationStore, () => new PostgresRegistrationStore(database(), defaultSettingsStatements, (messages) => lookupOutbox().store.enqueue(messages)));
}

/** What registerUser needs: the store, the key ring, the lookup cache it invalidates, time and ids. */
export function registerUserDeps(): RegisterUserDeps {
  return once(registerUserDeps, () => {
    const { clock, ids, logger } = platform();
    return { store: registrationStore(), cipher: credentialsCipher(), invalidations: lookupInvalidations(), clock, ids, log: logger };
  });
}

/** BotRegistration for the Telegram bot's /setapi (the lead wires it into runtime/telegram.ts). */
export function registrationForBot(): BotRegistration {
  return once(registrationForBot, () => botRegistration(registerUserDeps()));
}
