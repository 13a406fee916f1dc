import * as z from "zod/mini";
import { lazy } from "../validation/lazy";

const refText = /* @__PURE__ */ lazy(() => z.string().check(z.trim(), z.minLength(1, "must not be empty"), z.maxLength(64, "is too long")));

/** `{ref}` (parsed by core/identity/user-ref.ts) and `{exchange}` (an unsupported one is 404). */
export const credentialsParamsSchema = /* @__PURE__ */ lazy(() => z.object({
  ref: refText(),
  exchange: z.string().check(z.regex(/^[a-z][a-z0-9_]{1,31}$/, "must be an exchange name such as okx")),
}));

/** One check, so one message per field: 1..max visible characters. */
const secretText = (min: number, max: number) =>
  z.string({ error: (issue) => (issue.input === undefined ? "is required" : "must be a string") }).check(
    z.regex(new RegExp(`^\\S{${min},${max}}$`), `must be ${min}-${max} characters without spaces`),
  );

/** PUT body: the three values as the exchange issued them. Never logged, never returned. */
export const credentialsBodySchema = /* @__PURE__ */ lazy(() => z.strictObject({
  apiKey: secretText(4, 128),
  secret: secretText(1, 256),
  passphrase: secretText(1, 128),
}));

export const credentialsSummarySchema = /* @__PURE__ */ lazy(() => z.object({
  exchange: z.string(),
  apiKeyLast4: z.string().check(z.describe("the last 4 characters of the api key: all that is ever shown of it")),
  updatedAt: z.string(),
}));

export const openedCredentialsSchema = /* @__PURE__ */ lazy(() => z.object({
  exchange: z.string(),
  apiKey: z.string(),
  secret: z.string(),
  passphrase: z.string(),
  keyId: z.string().check(z.describe("the key of the ring that sealed the stored values")),
  updatedAt: z.string(),
}));
