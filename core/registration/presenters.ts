import type { RegisteredUser } from "./model";

export function presentRegistration(registered: RegisteredUser) {
  return {
    userId: registered.userId,
    created: registered.created,
    telegramId: registered.telegramId,
    okxUid: registered.okxUid,
    exchange: registered.exchange,
    apiKeyLast4: registered.apiKeyLast4,
  };
}
