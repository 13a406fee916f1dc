import type { Exchange } from "../credentials/model";
import type { ExchangeCredentials } from "../exchange/model";

/** What the bot's /setapi (through POST /v1/registrations or BotRegistration) asks for. */
export interface RegistrationRequest {
  /** Decimal string; negative for groups and channels (identity rules). */
  readonly telegramId: string;
  readonly okxUid: string;
  readonly exchange: Exchange;
  readonly credentials: ExchangeCredentials;
  /** Who registers (the token's subject, `telegram:<id>` for the bot): logged, never a secret. */
  readonly actor: string;
}

/** An active user that holds the request's telegram id or okx uid (on the user or its mapping). */
export interface RegistrationCandidate {
  readonly id: string;
  readonly telegramId: string;
  readonly okxUid: string | null;
  readonly createdAt: Date;
}

/**
 * What registration does for a request, decided from the candidates:
 * - `create`: nobody holds either identifier, a new user;
 * - `existing`: one user holds exactly both (a replay, or new keys for the same account);
 * - `attach`: one user holds the telegram id and no okx uid yet (e.g. created by the sales tool
 *   before the person connected an exchange account): the okx uid is added to it.
 */
export type RegistrationPlan =
  | { readonly kind: "create" }
  | { readonly kind: "existing"; readonly user: RegistrationCandidate }
  | { readonly kind: "attach"; readonly user: RegistrationCandidate };

export interface RegisteredUser {
  readonly userId: string;
  readonly telegramId: string;
  readonly okxUid: string;
  readonly exchange: Exchange;
  readonly apiKeyLast4: string;
  /** True when this request created the user (201), false when it was there (200). */
  readonly created: boolean;
}
