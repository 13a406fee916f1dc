import { webcrypto } from "node:crypto";
import { errors as joseErrors, jwtVerify, SignJWT } from "jose";
import * as z from "zod/mini";
import { ForbiddenError, UnauthorizedError } from "../errors";
import { lazy } from "../validation/lazy";

export const roles = ["user", "service", "admin"] as const;
export type Role = (typeof roles)[number];

/** Who is calling. A `user` principal always carries the app user id it acts for. */
export type Principal =
  | { readonly role: "user"; readonly subject: string; readonly userId: string }
  | { readonly role: "service" | "admin"; readonly subject: string };

const ALGORITHM = "HS256";

const timestamps = /* @__PURE__ */ lazy(() => ({ iat: z.number(), exp: z.number() }));
const claimsSchema = /* @__PURE__ */ lazy(() => z.discriminatedUnion("role", [
  z.object({ role: z.literal("user"), sub: z.uuid("user tokens must name an app user id in sub"), ...timestamps() }),
  z.object({ role: z.enum(["service", "admin"]), sub: z.string().check(z.minLength(1)), ...timestamps() }),
]));

export interface TokenOptions {
  readonly secret: string;
  readonly issuer: string;
  /** Longest lifetime (`exp - iat`) accepted per role; defaultMaxTokenAgeSeconds when left out. */
  readonly maxAgeSeconds?: Readonly<Record<Role, number>>;
}

/**
 * A leaked token is good until it expires, so lifetimes are capped per role: a user's app session
 * a day, an admin's console half a day, a service's (a bot's deployment) 30 days.
 */
export const defaultMaxTokenAgeSeconds: Readonly<Record<Role, number>> = { user: 24 * 3600, service: 30 * 24 * 3600, admin: 12 * 3600 };

/** Clocks of issuer and verifier may disagree this much about `iat`. */
const CLOCK_SKEW_SECONDS = 60;

/**
 * jose imports a raw key through WebCrypto on every call, a secret KeyObject included (it exports
 * the bytes first): a CryptoKey imported once per secret is used as is.
 */
const keys = new Map<string, Promise<webcrypto.CryptoKey>>();
function keyFor(secret: string): Promise<webcrypto.CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = webcrypto.subtle.importKey("raw", new TextEncoder().encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    // A failed import is not kept: the next call tries again instead of failing for the container's life.
    key.catch(() => keys.delete(secret));
    keys.set(secret, key);
  }
  return key;
}

/** A verified token's principal and its `exp` (seconds since the epoch). */
export interface VerifiedToken {
  readonly principal: Principal;
  readonly expiresAtSeconds: number;
}

/**
 * Checks a bearer token (signature, issuer, claims, lifetime cap) and names its principal, with
 * its expiry; the HTTP routes call it through core/auth/verified-tokens.ts, which memoises it.
 */
export async function verifyToken(options: TokenOptions, token: string, now: Date): Promise<VerifiedToken> {
  let payload: unknown;
  try {
    ({ payload } = await jwtVerify(token, await keyFor(options.secret), {
      algorithms: [ALGORITHM],
      issuer: options.issuer,
      requiredClaims: ["exp", "iat", "sub"],
      currentDate: now,
    }));
  } catch (error) {
    throw new UnauthorizedError(describeJoseError(error), { cause: error });
  }
  const claims = claimsSchema().safeParse(payload);
  if (!claims.success) {
    throw new UnauthorizedError("token claims are invalid (role, sub, iat, exp)", { cause: claims.error });
  }
  const { role, sub, iat, exp } = claims.data;
  if (iat > now.getTime() / 1000 + CLOCK_SKEW_SECONDS) throw new UnauthorizedError("token claim invalid: iat is in the future");
  const maxAge = (options.maxAgeSeconds ?? defaultMaxTokenAgeSeconds)[role];
  if (exp - iat > maxAge) throw new UnauthorizedError(`token lifetime exceeds the ${maxAge} s allowed for role '${role}'`);
  // App user ids are stored lower-case; a token may carry any case.
  const principal: Principal = role === "user" ? { role, subject: sub, userId: sub.toLowerCase() } : { role, subject: sub };
  return { principal: Object.freeze(principal), expiresAtSeconds: exp };
}

function describeJoseError(error: unknown): string {
  if (error instanceof joseErrors.JWTExpired) return "token expired";
  if (error instanceof joseErrors.JOSEAlgNotAllowed) return "token algorithm not allowed";
  if (error instanceof joseErrors.JWSSignatureVerificationFailed) return "token signature invalid";
  if (error instanceof joseErrors.JWTClaimValidationFailed) return `token claim invalid: ${error.claim}`;
  return "token malformed";
}

export interface IssueTokenInput {
  readonly role: Role;
  readonly subject: string;
  readonly ttlSeconds: number;
}

export async function issueAccessToken(
  options: TokenOptions,
  input: IssueTokenInput,
  now: Date,
): Promise<string> {
  const issuedAt = Math.floor(now.getTime() / 1000);
  return new SignJWT({ role: input.role })
    .setProtectedHeader({ alg: ALGORITHM, typ: "JWT" })
    .setSubject(input.subject)
    .setIssuer(options.issuer)
    .setIssuedAt(issuedAt)
    .setExpirationTime(issuedAt + input.ttlSeconds)
    .sign(await keyFor(options.secret));
}

/** Role gate shared by every route; `allowed` comes from the route declaration. */
export function requireRole(principal: Principal, allowed: readonly Role[]): void {
  if (!allowed.includes(principal.role)) {
    throw new ForbiddenError(`role '${principal.role}' may not call this route`);
  }
}
