import * as z from "zod/mini";
import { lazy } from "../validation/lazy";

/**
 * The shape of OKX API v5 keys as the exchange issues them: a UUID-like key, a 32-hex-character
 * secret, and the passphrase the user chose. Checked before any call is made, so an obvious slip
 * (the secret pasted as the key) gets a precise answer.
 */
export const okxCredentialsSchema = /* @__PURE__ */ lazy(() => z.object({
  apiKey: z.string().check(z.regex(/^[A-Za-z0-9-]{16,64}$/, "must be the API key (letters, digits and dashes)")),
  secretKey: z.string().check(z.regex(/^[A-Za-z0-9]{16,128}$/, "must be the secret key (letters and digits)")),
  passphrase: z.string().check(z.minLength(1, "must not be empty"), z.maxLength(64, "must be at most 64 characters"), z.regex(/^\S+$/, "must not contain spaces")),
}));

/** OKX's envelope: `code` "0" on success, `data` the rows. */
export const okxEnvelopeSchema = /* @__PURE__ */ lazy(() => z.object({
  code: z.string(),
  msg: z._default(z.string(), ""),
  data: z._default(z.array(z.unknown()), []),
}));

export const okxAccountConfigSchema = /* @__PURE__ */ lazy(() => z.object({
  uid: z.string().check(z.regex(/^[0-9]{1,32}$/)),
  mainUid: z.optional(z.string()),
  perm: z.optional(z.string()),
  label: z.optional(z.string()),
}));
