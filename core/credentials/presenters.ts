import type { CredentialsSummary, OpenedCredentials } from "./model";

export function presentSummary(summary: CredentialsSummary) {
  return { exchange: summary.exchange, apiKeyLast4: summary.apiKeyLast4, updatedAt: summary.updatedAt.toISOString() };
}

/** The internal route's answer (service tokens only): the decrypted values in the API's naming. */
export function presentOpened(opened: OpenedCredentials) {
  return {
    exchange: opened.exchange,
    apiKey: opened.apiKey,
    secret: opened.secretKey,
    passphrase: opened.passphrase,
    keyId: opened.keyId,
    updatedAt: opened.updatedAt.toISOString(),
  };
}
