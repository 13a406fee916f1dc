import type { Identifier, IdentifierKind } from "./identifier";

export const mappingSources = ["admin", "import", "legacy", "registration"] as const;
export type MappingSource = (typeof mappingSources)[number];

/** One row of user_identifier_mappings. Telegram ids travel as decimal strings (int8-safe). */
export interface Mapping {
  readonly userId: string;
  readonly telegramId: string;
  readonly okxUid: string | null;
  readonly isActive: boolean;
  readonly source: MappingSource;
  readonly createdAt: Date;
  readonly updatedAt: Date;
}

export const lookupSources = ["cache", "database", "legacy", "direct"] as const;
export type LookupSource = (typeof lookupSources)[number];

export interface LookupResult {
  readonly telegramId: string;
  readonly userId: string | null;
  readonly okxUid: string | null;
  readonly source: LookupSource;
}

/** Per-identifier outcome of a batch: found, or unknown (never an error for one bad apple). */
export type BatchEntry =
  | { readonly identifier: string; readonly kind: IdentifierKind; readonly found: true; readonly result: LookupResult }
  | {
      readonly identifier: string;
      readonly kind: IdentifierKind;
      readonly found: false;
      /** `not_found`: no tier knows it; `unavailable`: the legacy service could not be asked, retry later. */
      readonly reason: "not_found" | "unavailable";
    };

export interface LegacyAnswer {
  readonly telegramId: string;
  readonly userId: string | null;
  readonly okxUid: string | null;
}

export function mappingMatches(mapping: Mapping, identifier: Identifier): boolean {
  switch (identifier.kind) {
    case "user_id":
      return mapping.userId === identifier.value;
    case "okx_uid":
      return mapping.okxUid === identifier.value;
    case "telegram_id":
      return mapping.telegramId === identifier.value;
  }
}
