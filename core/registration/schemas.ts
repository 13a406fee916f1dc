import * as z from "zod/mini";
import { supportedExchanges } from "../credentials/model";
import { credentialsBodySchema } from "../credentials/schemas";
import { okxUidSchema, telegramIdSchema } from "../lookups/schemas";
import { lazy } from "../validation/lazy";

/** POST /v1/registrations: who (telegram id, okx uid) and the exchange keys; the exchange defaults to okx. */
export const registrationBodySchema = /* @__PURE__ */ lazy(() => z.extend(credentialsBodySchema(), {
  telegramId: telegramIdSchema(),
  okxUid: okxUidSchema(),
  exchange: z._default(z.enum(supportedExchanges), "okx"),
}));

export const registrationResponseSchema = /* @__PURE__ */ lazy(() => z.object({
  userId: z.string(),
  created: z.boolean(),
  telegramId: z.string().check(z.describe("decimal string: Telegram ids need up to 52 bits")),
  okxUid: z.string(),
  exchange: z.string(),
  apiKeyLast4: z.string(),
}));
