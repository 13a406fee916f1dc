import type { SealedCredentials } from "../credentials/model";
import type { OutboxMessage } from "../outbox/model";
import type { RegistrationCandidate, RegistrationPlan } from "./model";

export interface RegistrationWrite {
  readonly plan: RegistrationPlan;
  readonly userId: string;
  readonly telegramId: string;
  readonly okxUid: string;
  readonly credentials: SealedCredentials;
  readonly now: Date;
  /** The lookup-cache invalidation the mapping change owes (outbox row, committed with it); null when the mapping stays as it was. */
  readonly invalidation: OutboxMessage | null;
}

export type RegistrationWriteResult =
  | { readonly kind: "written" }
  /** A unique index refused the user or the okx uid (a twin registered first): nothing was written. */
  | { readonly kind: "identifiers_taken" }
  /** The user read for the plan changed before the write (deactivated, identifiers edited): nothing was written. */
  | { readonly kind: "stale" };

/** Users, mappings, credentials and default settings in Postgres; each call one round trip. */
export interface RegistrationStore {
  /** Active users holding the telegram id or the okx uid (on the user or its mapping). */
  candidates(telegramId: string, okxUid: string): Promise<RegistrationCandidate[]>;
  /** The plan, the sealed credentials and the default settings the user lacks, in one transaction. */
  write(write: RegistrationWrite): Promise<RegistrationWriteResult>;
}
