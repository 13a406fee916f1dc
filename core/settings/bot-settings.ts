import { UnprocessableError } from "../errors";
import type { BotSettings } from "../telegram/ports";
import type { SettingsView } from "../telegram/model";
import { getAllSettings } from "./get-settings";
import type { SettingsReadDeps } from "./get-settings";
import { SETTINGS_KEY_NAME, settingsTypes } from "./model";
import type { AllSettings, SettingsType } from "./model";
import { defaultSettingsFor } from "./schemas";
import { patchSettings } from "./write-settings";
import type { SettingsWriteDeps } from "./write-settings";

function toView(all: AllSettings): SettingsView {
  return Object.fromEntries(settingsTypes.map((type) => [type, all[type] ? { values: all[type].settings, version: all[type].version } : null])) as unknown as SettingsView;
}

/**
 * The Telegram bot's settings use cases (core/telegram/ports.ts `BotSettings`): the same reads and
 * validation as the API. `set` is a merge patch of one key (null removes it) by the user itself; a
 * type the user lacks starts from its defaults. A bad value is an UnprocessableError naming
 * `body.<key>` (the bot shows it as `<type>.<key>`).
 */
export function botSettings(deps: { readonly read: SettingsReadDeps; readonly write: SettingsWriteDeps }): BotSettings {
  return {
    get: async (userId) => toView(await getAllSettings(deps.read, { userId })),
    set: async (userId, type, key, value) => {
      if (!SETTINGS_KEY_NAME.test(key)) throw UnprocessableError.field(`body.${key}`, "key names must be 1-64 characters of a-z, 0-9 and _");
      await patchSettings(deps.write, {
        userId,
        type: type as SettingsType,
        patch: { [key]: value },
        expectedVersion: null,
        actor: `telegram:${userId}`,
        createFrom: defaultSettingsFor(type as SettingsType),
      });
      return toView(await getAllSettings(deps.read, { userId }));
    },
  };
}
