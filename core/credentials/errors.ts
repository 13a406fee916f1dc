/**
 * Why a sealed value did not open. Never a guess at the plaintext: a value that fails GCM's
 * authentication (tampered bytes, another row's value, the wrong key under a known id) or names a
 * key the ring does not hold is refused as a whole.
 *
 * Not an AppError on purpose: no caller can fix it by changing the request, so HTTP answers 500
 * (details in the log by request id) and rotate-credentials counts the row as failed.
 */
export type DecryptionProblem =
  /** The key id is not in the ring (a previous key was dropped too soon, or another stage's key). */
  | "unknown_key"
  /** Authentication failed: the bytes were changed, moved to another row/field, or the key under that id is not the one that sealed them. */
  | "authentication_failed"
  /** Not something the cipher wrote (too short, unknown format version). */
  | "malformed";

export class CredentialDecryptionError extends Error {
  constructor(
    readonly problem: DecryptionProblem,
    readonly keyId: string,
    message: string,
  ) {
    super(message);
    this.name = "CredentialDecryptionError";
  }
}
