import { createCipheriv, createDecipheriv, randomBytes as nodeRandomBytes } from "node:crypto";
import type { ExchangeCredentials } from "../exchange/model";
import { CredentialDecryptionError } from "./errors";
import type { KeyRing } from "./key-ring";
import { apiKeyLast4 } from "./model";
import type { CredentialField, Exchange, SealedCredentials } from "./model";

/** Layout of a sealed value: version (1 byte) | nonce (12) | ciphertext | GCM tag (16). */
const FORMAT_VERSION = 1;
const NONCE_BYTES = 12;
const TAG_BYTES = 16;
const HEADER_BYTES = 1 + NONCE_BYTES;

/** Where a value belongs: bound into GCM's associated data, so it opens only there. */
export interface SealContext {
  readonly userId: string;
  readonly exchange: string;
  readonly field: CredentialField;
}

function associatedData(context: SealContext): Buffer {
  return Buffer.from(["botstate:exchange_credentials:v1", context.userId, context.exchange, context.field].join("\u0000"), "utf8");
}

const strictUtf8 = new TextDecoder("utf-8", { fatal: true });

/**
 * AES-256-GCM (node:crypto) over one value at a time: a random 96-bit nonce per value, the user id,
 * exchange and field as associated data. A value that does not authenticate is refused with a
 * CredentialDecryptionError, never returned as garbage.
 */
export class CredentialsCipher {
  constructor(
    private readonly ring: KeyRing,
    private readonly randomBytes: (size: number) => Buffer = nodeRandomBytes,
  ) {}

  get currentKeyId(): string {
    return this.ring.currentId;
  }

  /** Seals with the current key. */
  seal(plaintext: string, context: SealContext): Uint8Array {
    const key = this.ring.key(this.ring.currentId) as Buffer;
    const nonce = this.randomBytes(NONCE_BYTES);
    const cipher = createCipheriv("aes-256-gcm", key, nonce, { authTagLength: TAG_BYTES });
    cipher.setAAD(associatedData(context));
    const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()]);
    return Buffer.concat([Buffer.from([FORMAT_VERSION]), nonce, body, cipher.getAuthTag()]);
  }

  open(sealed: Uint8Array, keyId: string, context: SealContext): string {
    const key = this.ring.key(keyId);
    if (!key) throw new CredentialDecryptionError("unknown_key", keyId, `key ${keyId} is not in the key ring (ENCRYPTION_KEY / ENCRYPTION_PREVIOUS_KEYS)`);
    const bytes = Buffer.from(sealed);
    if (bytes.length < HEADER_BYTES + TAG_BYTES || bytes[0] !== FORMAT_VERSION) {
      throw new CredentialDecryptionError("malformed", keyId, `${context.field} is not a sealed value of format ${FORMAT_VERSION}`);
    }
    const decipher = createDecipheriv("aes-256-gcm", key, bytes.subarray(1, HEADER_BYTES), { authTagLength: TAG_BYTES });
    decipher.setAAD(associatedData(context));
    decipher.setAuthTag(bytes.subarray(bytes.length - TAG_BYTES));
    try {
      const plain = Buffer.concat([decipher.update(bytes.subarray(HEADER_BYTES, bytes.length - TAG_BYTES)), decipher.final()]);
      return strictUtf8.decode(plain);
    } catch {
      throw new CredentialDecryptionError(
        "authentication_failed",
        keyId,
        `${context.field} of ${context.exchange} credentials failed authentication (tampered, moved from another row, or key ${keyId} is not the key that sealed it)`,
      );
    }
  }

  /** A credential set sealed for this user and exchange with the current key. */
  sealCredentials(userId: string, exchange: Exchange, credentials: ExchangeCredentials, now: Date): SealedCredentials {
    const context = (field: CredentialField): SealContext => ({ userId, exchange, field });
    return {
      userId,
      exchange,
      apiKey: this.seal(credentials.apiKey, context("api_key")),
      secret: this.seal(credentials.secretKey, context("secret")),
      passphrase: this.seal(credentials.passphrase, context("passphrase")),
      keyId: this.ring.currentId,
      apiKeyLast4: apiKeyLast4(credentials.apiKey),
      createdAt: now,
      updatedAt: now,
    };
  }

  openCredentials(row: SealedCredentials): ExchangeCredentials {
    const context = (field: CredentialField): SealContext => ({ userId: row.userId, exchange: row.exchange, field });
    return {
      apiKey: this.open(row.apiKey, row.keyId, context("api_key")),
      secretKey: this.open(row.secret, row.keyId, context("secret")),
      passphrase: this.open(row.passphrase, row.keyId, context("passphrase")),
    };
  }

  /** The same credentials sealed again with the current key (rotation); timestamps kept. */
  reseal(row: SealedCredentials): SealedCredentials {
    const sealed = this.sealCredentials(row.userId, row.exchange, this.openCredentials(row), row.updatedAt);
    return { ...sealed, createdAt: row.createdAt };
  }
}
