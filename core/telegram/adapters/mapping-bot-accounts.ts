import type { MappingRepository } from "../../lookups/ports";
import type { BotAccount } from "../model";
import type { BotAccounts } from "../ports";

/** Who a Telegram user is: their active identifier mapping (lookups), read from Postgres. */
export class MappingBotAccounts implements BotAccounts {
  constructor(private readonly mappings: Pick<MappingRepository, "search">) {}

  async findByTelegramId(telegramId: string): Promise<BotAccount | null> {
    const active = (await this.mappings.search({ telegramId })).find((mapping) => mapping.isActive);
    return active ? { userId: active.userId, telegramId: active.telegramId, okxUid: active.okxUid } : null;
  }
}
