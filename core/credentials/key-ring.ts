import { createHmac } from "node:crypto";
import { ConfigError } from "../errors";

const KEY_BYTES = 32;
const ID_LABEL = "botstate/exchange-credentials/key-id/v1";

/**
 * The keys exchange credentials are sealed with: one current key (seals everything new) and the
 * previous ones (still open what they sealed until rotate-credentials re-seals it).
 *
 * A key's id is derived from the key itself (an HMAC of a fixed label, 12 hex characters): it
 * reveals nothing of the key, needs no separate setting that could drift from the key, and a
 * rotated-in key can never reuse the id of an old one.
 */
export interface KeyRing {
  readonly currentId: string;
  /** The key with this id, or undefined when the ring does not hold it. */
  key(id: string): Buffer | undefined;
  /** Every id, current first. */
  readonly ids: readonly string[];
}

export function keyIdOf(key: Buffer): string {
  return `k${createHmac("sha256", key).update(ID_LABEL).digest("hex").slice(0, 12)}`;
}

function decodeKey(text: string, name: string): Buffer {
  const trimmed = text.trim();
  const key = Buffer.from(trimmed, "base64");
  if (!/^[A-Za-z0-9+/_-]{43}=?$/.test(trimmed) || key.length !== KEY_BYTES) {
    throw new ConfigError(`Invalid configuration: ${name} must be ${KEY_BYTES} bytes, base64-encoded (openssl rand -base64 32)`);
  }
  return key;
}

/** ENCRYPTION_PREVIOUS_KEYS as a list: comma-separated, blank or `none` for none. */
export function previousKeysOf(text: string): string[] {
  if (text.trim() === "none") return [];
  return text.split(",").map((part) => part.trim()).filter((part) => part !== "");
}

/** The ring from the configured keys (base64); a previous key equal to the current one is ignored. */
export function keyRingFrom(current: string, previous: readonly string[] = []): KeyRing {
  const currentKey = decodeKey(current, "ENCRYPTION_KEY");
  const keys = new Map<string, Buffer>([[keyIdOf(currentKey), currentKey]]);
  previous.forEach((text, index) => {
    const key = decodeKey(text, `ENCRYPTION_PREVIOUS_KEYS[${index}]`);
    const id = keyIdOf(key);
    if (!keys.has(id)) keys.set(id, key);
  });
  const currentId = keyIdOf(currentKey);
  return { currentId, key: (id) => keys.get(id), ids: [...keys.keys()] };
}
