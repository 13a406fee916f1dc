import type { Database } from "../../core/db/database";
import { PostgresMappingRepository } from "../../core/lookups/adapters/postgres-mapping-repository";
import { MappingBotAccounts } from "../../core/telegram/adapters/mapping-bot-accounts";
import type { BotAccounts } from "../../core/telegram/ports";

/** Who a Telegram user is (lookups' identifier mappings); loaded by runtime/telegram.ts on the first command that asks. */
export function botAccounts(db: Database): BotAccounts {
  return new MappingBotAccounts(new PostgresMappingRepository(db));
}
