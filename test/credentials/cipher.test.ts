import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { credentialsConfigSchema, parseConfig } from "../../core/config";
import { CredentialsCipher } from "../../core/credentials/cipher";
import { CredentialDecryptionError } from "../../core/credentials/errors";
import { keyIdOf, keyRingFrom, previousKeysOf } from "../../core/credentials/key-ring";
import type { SealedCredentials } from "../../core/credentials/model";

const newKey = () => randomBytes(32).toString("base64");
const userId = "0b0f8a52-2c5e-4c34-9d4f-6f1f4b7f0a11";
const otherUser = "5d7c1e20-9a3b-4f5e-8c2d-1a2b3c4d5e6f";
const credentials = { apiKey: "8c1b7f4e-2d3a-4b5c-9e8f-0a1b2c3d4e5f", secretKey: "A1B2C3D4E5F60718293A4B5C6D7E8F90", passphrase: "Pässwörd-🔐-1" };
const now = new Date("2026-11-30T08:00:00Z");

function expectDecryptionError(run: () => unknown, problem: CredentialDecryptionError["problem"]): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(CredentialDecryptionError);
  expect((caught as CredentialDecryptionError).problem).toBe(problem);
  // The message names what failed, never a value.
  expect((caught as Error).message).not.toContain(credentials.secretKey);
}

function flipByte(bytes: Uint8Array, index: number): Uint8Array {
  const copy = Buffer.from(bytes);
  copy[index] = (copy[index] ?? 0) ^ 0x01;
  return copy;
}

describe("CredentialsCipher (AES-256-GCM)", () => {
  const key = newKey();
  const cipher = new CredentialsCipher(keyRingFrom(key));

  it("round-trips every value, including non-ASCII, under the current key id", () => {
    const sealed = cipher.sealCredentials(userId, "okx", credentials, now);
    expect(sealed.keyId).toBe(cipher.currentKeyId);
    expect(sealed.apiKeyLast4).toBe("4e5f");
    expect(cipher.openCredentials(sealed)).toEqual(credentials);
    // No value is stored in a form that contains the plaintext.
    for (const value of [sealed.apiKey, sealed.secret, sealed.passphrase]) {
      expect(Buffer.from(value).toString("latin1")).not.toContain(credentials.secretKey);
      expect(Buffer.from(value).toString("utf8")).not.toContain("4e5f");
    }
  });

  it("draws a fresh 96-bit nonce per value: sealing the same value twice gives different bytes", () => {
    const context = { userId, exchange: "okx", field: "secret" } as const;
    const a = Buffer.from(cipher.seal("same", context));
    const b = Buffer.from(cipher.seal("same", context));
    expect(a.equals(b)).toBe(false);
    expect(a.subarray(1, 13).equals(b.subarray(1, 13))).toBe(false);
    // version + nonce + 4 bytes + tag
    expect(a.length).toBe(1 + 12 + 4 + 16);
  });

  it("refuses a tampered value (any byte: version, nonce, body, tag) with a typed error", () => {
    const sealed = cipher.sealCredentials(userId, "okx", credentials, now);
    for (const index of [1, 5, 13, sealed.secret.length - 1]) {
      expectDecryptionError(() => cipher.openCredentials({ ...sealed, secret: flipByte(sealed.secret, index) }), "authentication_failed");
    }
    expectDecryptionError(() => cipher.openCredentials({ ...sealed, secret: flipByte(sealed.secret, 0) }), "malformed");
    expectDecryptionError(() => cipher.openCredentials({ ...sealed, secret: sealed.secret.subarray(0, 20) }), "malformed");
  });

  it("binds user, exchange and field: a value moved to another row or column does not open", () => {
    const sealed = cipher.sealCredentials(userId, "okx", credentials, now);
    expectDecryptionError(() => cipher.openCredentials({ ...sealed, userId: otherUser }), "authentication_failed");
    expectDecryptionError(() => cipher.openCredentials({ ...sealed, exchange: "binance" as never }), "authentication_failed");
    expectDecryptionError(() => cipher.openCredentials({ ...sealed, secret: sealed.passphrase, passphrase: sealed.secret }), "authentication_failed");
  });

  it("fails clearly with the wrong key under the same id, and with a key id the ring does not hold", () => {
    const sealed = cipher.sealCredentials(userId, "okx", credentials, now);
    const impostor = new CredentialsCipher({ currentId: sealed.keyId, ids: [sealed.keyId], key: () => Buffer.from(newKey(), "base64") });
    expectDecryptionError(() => impostor.openCredentials(sealed), "authentication_failed");
    const stranger = new CredentialsCipher(keyRingFrom(newKey()));
    expectDecryptionError(() => stranger.openCredentials(sealed), "unknown_key");
  });
});

describe("key ring and rotation", () => {
  it("derives stable ids from the keys, never the key itself", () => {
    const key = newKey();
    const id = keyIdOf(Buffer.from(key, "base64"));
    expect(id).toMatch(/^k[0-9a-f]{12}$/);
    expect(keyRingFrom(key).currentId).toBe(id);
    expect(key).not.toContain(id.slice(1));
  });

  it("opens rows of previous keys and re-seals them under the current one", () => {
    const oldKey = newKey();
    const oldCipher = new CredentialsCipher(keyRingFrom(oldKey));
    const sealed: SealedCredentials = oldCipher.sealCredentials(userId, "okx", credentials, now);
    const currentKey = newKey();
    const newCipher = new CredentialsCipher(keyRingFrom(currentKey, [oldKey]));
    expect(newCipher.openCredentials(sealed)).toEqual(credentials);
    const rotated = newCipher.reseal(sealed);
    expect(rotated.keyId).toBe(newCipher.currentKeyId);
    expect(rotated.keyId).not.toBe(sealed.keyId);
    expect(rotated.updatedAt).toEqual(sealed.updatedAt);
    // The current key alone opens the rotated row; the old key alone no longer does.
    expect(new CredentialsCipher(keyRingFrom(currentKey)).openCredentials(rotated)).toEqual(credentials);
    expectDecryptionError(() => oldCipher.openCredentials(rotated), "unknown_key");
  });

  it("config: 32-byte base64 keys only, previous keys comma-separated, `none` for none", () => {
    const key = newKey();
    expect(parseConfig(credentialsConfigSchema(), { ENCRYPTION_KEY: key }).ENCRYPTION_PREVIOUS_KEYS).toBe("");
    expect(() => parseConfig(credentialsConfigSchema(), {})).toThrow(/ENCRYPTION_KEY is missing/);
    expect(previousKeysOf("none")).toEqual([]);
    expect(previousKeysOf("")).toEqual([]);
    const previous = [newKey(), newKey()];
    expect(previousKeysOf(previous.join(", "))).toEqual(previous);
    expect(keyRingFrom(key, [...previous, key]).ids).toHaveLength(3);
    expect(() => keyRingFrom(randomBytes(16).toString("base64"))).toThrow(/ENCRYPTION_KEY must be 32 bytes, base64-encoded/);
    expect(() => keyRingFrom(key, [key, "short"])).toThrow(/ENCRYPTION_PREVIOUS_KEYS\[1\] must be 32 bytes/);
  });
});
