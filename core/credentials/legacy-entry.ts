import type { ExchangeCredentials } from "../exchange/model";
import type { LegacyCredentialsEntry } from "./ports";

/** Field names the old bots used for each value (system B wrote api_key / api_secret / passphrase). */
const ALIASES = {
  apiKey: ["api_key", "apiKey"],
  secretKey: ["api_secret", "secret_key", "secretKey", "secret"],
  passphrase: ["passphrase", "api_passphrase"],
} as const satisfies Record<keyof ExchangeCredentials, readonly string[]>;

/** A legacy hash read as credentials: the values, and the fields (with their values) that hold them. */
export interface LegacyCredentials {
  readonly credentials: ExchangeCredentials;
  /** field -> value as stored: compared again before the plaintext is deleted. */
  readonly plaintextFields: Readonly<Record<string, string>>;
}

export type LegacyParse =
  | { readonly ok: true; readonly value: LegacyCredentials }
  /** `empty`: the hash holds none of the secret fields (their plaintext was deleted already). */
  | { readonly ok: false; readonly reason: string; readonly empty?: boolean };

interface Picked {
  readonly value: string;
  /** Every alias that holds it (all are plaintext to delete). */
  readonly fields: readonly string[];
}

function pick(fields: Readonly<Record<string, string>>, names: readonly string[], label: string): Picked | string {
  const present = names.filter((name) => fields[name] !== undefined && fields[name] !== "");
  const values = new Set(present.map((name) => fields[name]));
  if (present.length === 0) return `no ${label} (${names.join(" / ")})`;
  if (values.size > 1) return `${present.join(" and ")} disagree`;
  const value = fields[present[0] as string] as string;
  if (/\s/.test(value)) return `${present[0]} contains whitespace`;
  return { value, fields: present };
}

/** Reads the three values of a legacy hash; a reason (never a value) when it cannot. */
export function parseLegacyEntry(entry: LegacyCredentialsEntry): LegacyParse {
  if (entry.error !== undefined) return { ok: false, reason: `cannot read: ${entry.error}` };
  if (entry.fields === null) return { ok: false, reason: "gone (deleted while the run was under way)" };
  const fields = entry.fields;
  if (Object.values(ALIASES).every((names) => names.every((name) => fields[name] === undefined))) {
    return { ok: false, reason: "no secret fields left", empty: true };
  }
  const apiKey = pick(fields, ALIASES.apiKey, "api key");
  const secretKey = pick(fields, ALIASES.secretKey, "secret");
  const passphrase = pick(fields, ALIASES.passphrase, "passphrase");
  const problems = [apiKey, secretKey, passphrase].filter((part): part is string => typeof part === "string");
  if (problems.length > 0) return { ok: false, reason: problems.join("; ") };
  const [a, s, p] = [apiKey, secretKey, passphrase] as [Picked, Picked, Picked];
  const plaintextFields = Object.fromEntries([a, s, p].flatMap((picked) => picked.fields.map((field) => [field, picked.value])));
  return { ok: true, value: { credentials: { apiKey: a.value, secretKey: s.value, passphrase: p.value }, plaintextFields } };
}

export function sameCredentials(a: ExchangeCredentials, b: ExchangeCredentials): boolean {
  return a.apiKey === b.apiKey && a.secretKey === b.secretKey && a.passphrase === b.passphrase;
}
