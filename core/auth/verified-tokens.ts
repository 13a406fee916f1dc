import { createHash } from "node:crypto";
import { BoundedMemo } from "../cache/bounded-memo";
import type { Principal, TokenOptions } from "./tokens";
import { verifyToken } from "./tokens";

/**
 * Bearer tokens already verified by this container, keyed by their SHA-256: a bot sends the
 * same token with every request, and verifying it (an HMAC through WebCrypto) was 10-20 % of a
 * cached read's CPU. Sound because nothing about a verified token changes but time: the bytes are
 * the ones whose signature, issuer, claims and lifetime cap were checked under these options (a
 * rotated secret means other options, hence another memo), an `iat` accepted once stays accepted,
 * and `exp` is checked again on every use, exactly as jose does (`exp > now` in whole seconds).
 * Tokens carry no revocation list to consult. Failures are not kept: a bad token costs a full
 * verification each time, as before. Bounded: past `maxEntries` the oldest entry goes.
 */
export class VerifiedTokens {
  private readonly entries: BoundedMemo<Principal>;

  constructor(
    private readonly options: TokenOptions,
    maxEntries = 1_000,
    private readonly verifyFully: typeof verifyToken = verifyToken,
  ) {
    this.entries = new BoundedMemo(maxEntries);
  }

  async verify(token: string, now: Date): Promise<Principal> {
    const digest = digestOf(token);
    // Valid while now < exp (in ms), which is jose's `exp > now` in whole seconds.
    const known = this.entries.get(digest, now.getTime());
    if (known) return known;
    // Expired (or never seen): the full verification says why it fails, or admits it afresh.
    const verified = await this.verifyFully(this.options, token, now);
    this.entries.set(digest, verified.principal, verified.expiresAtSeconds * 1_000);
    return verified.principal;
  }

  get size(): number {
    return this.entries.size;
  }
}

/** Kept by digest, not as the bearer token itself: a heap dump of the container holds no usable token. */
function digestOf(token: string): string {
  return createHash("sha256").update(token).digest("base64url");
}
