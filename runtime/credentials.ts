import { Redis } from "@upstash/redis";
import { credentialsConfigSchema, redisConfigSchema } from "../core/config";
import { PostgresCredentialsStore } from "../core/credentials/adapters/postgres-credentials-store";
import { CredentialsCipher } from "../core/credentials/cipher";
import type { CredentialsSummaryDeps } from "../core/credentials/get-credentials-summary";
import { keyRingFrom, previousKeysOf } from "../core/credentials/key-ring";
import type { PutCredentialsDeps } from "../core/credentials/put-credentials";
import type { ReadCredentialsDeps } from "../core/credentials/read-credentials";
import { UpstashLegacyCredentials } from "../core/credentials/adapters/upstash-legacy-credentials";
import type { MigrateLegacyDeps } from "../core/credentials/migrate-legacy";
import type { RotateCredentialsDeps } from "../core/credentials/rotate-credentials";
import { database } from "./clients/postgres";
import { redisKeys } from "./clients/redis";
import { configFor, once } from "./config";
import { userDirectory } from "./identity";
import { platform } from "./platform";

/** The key ring's cipher, from ENCRYPTION_KEY and ENCRYPTION_PREVIOUS_KEYS (read only by functions that seal or open). */
export function credentialsCipher(): CredentialsCipher {
  return once(credentialsCipher, () => {
    const config = configFor(credentialsConfigSchema);
    return new CredentialsCipher(keyRingFrom(config.ENCRYPTION_KEY, previousKeysOf(config.ENCRYPTION_PREVIOUS_KEYS)));
  });
}

export function credentialsStore(): PostgresCredentialsStore {
  return once(credentialsStore, () => new PostgresCredentialsStore(database()));
}

/** PUT: seals with the current key. */
export function putCredentialsDeps(): PutCredentialsDeps {
  return once(putCredentialsDeps, () => ({ store: credentialsStore(), cipher: credentialsCipher(), directory: userDirectory(), clock: platform().clock }));
}

/** GET (masked) and DELETE: no key needed. */
export function credentialsSummaryDeps(): CredentialsSummaryDeps {
  return once(credentialsSummaryDeps, () => ({ store: credentialsStore(), directory: userDirectory() }));
}

/** The internal read: opens with any key of the ring, audit-logged. */
export function readCredentialsDeps(): ReadCredentialsDeps {
  return once(readCredentialsDeps, () => ({ store: credentialsStore(), cipher: credentialsCipher(), directory: userDirectory(), clock: platform().clock }));
}

/**
 * A Redis client that returns values exactly as stored (ops: the legacy plaintext hashes). The
 * shared client lets @upstash/redis JSON-parse replies, which would turn a passphrase such as
 * `0123` into the number 123.
 */
export function rawRedisClient(): Redis {
  return once(rawRedisClient, () => {
    const config = configFor(redisConfigSchema);
    // Built here rather than in core/redis/upstash.ts so the request handlers' bundles stay as they are.
    return new Redis({
      url: config.UPSTASH_REDIS_REST_URL,
      token: config.UPSTASH_REDIS_REST_TOKEN,
      enableTelemetry: false,
      automaticDeserialization: false,
      retry: { retries: config.REDIS_RETRIES, backoff: (attempt) => Math.min(25 * 2 ** attempt, 200) },
    });
  });
}

/** migrate-credentials: the legacy hashes (raw Redis), the store, the key ring. */
export function migrateLegacyDeps(): MigrateLegacyDeps {
  return once(migrateLegacyDeps, () => ({
    source: new UpstashLegacyCredentials(rawRedisClient(), redisKeys()),
    store: credentialsStore(),
    cipher: credentialsCipher(),
    clock: platform().clock,
  }));
}

/** rotate-credentials: the store and the whole key ring. */
export function rotateCredentialsDeps(): RotateCredentialsDeps {
  return once(rotateCredentialsDeps, () => ({ store: credentialsStore(), cipher: credentialsCipher() }));
}
