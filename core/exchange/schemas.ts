import { z } from "zod";

/**
 * The shape of OKX API v5 keys as the exchange issues them: a UUID-like key, a 32-hex-character
 * secret, and the passphrase the user chose (8-32 characters). Checked before any call is made,
 * so an obvious slip (the secret pasted as the key) gets a precise answer.
 */
export const okxCredentialsSchema = z.object({
  apiKey: z.string().regex(/^[A-Za-z0-9-]{16,64}$/, "must be the API key (letters, digits and dashes)"),
  secretKey: z.string().regex(/^[A-Za-z0-9]{16,128}$/, "must be the secret key (letters and digits)"),
  passphrase: z.string().min(1, "must not be empty").max(64, "must be at most 64 characters").regex(/^\S+$/, "must not contain spaces"),
});

/** OKX's envelope: `code` "0" on success, `data` the rows. */
export const okxEnvelopeSchema = z.object({
  code: z.string(),
  msg: z.string().default(""),
  data: z.array(z.unknown()).default([]),
});

export const okxAccountConfigSchema = z.object({
  uid: z.string().regex(/^[0-9]{1,32}$/),
  mainUid: z.string().optional(),
  perm: z.string().optional(),
  label: z.string().optional(),
});
