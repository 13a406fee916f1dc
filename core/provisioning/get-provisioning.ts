import { NotFoundError } from "../errors";
import type { ProvisioningRecord } from "./model";
import type { ProvisioningStore } from "./ports";

/** GET /v1/provisioning/{id}: the record of a queued creation. */
export async function getProvisioning(store: Pick<ProvisioningStore, "getProvisioning">, id: string): Promise<ProvisioningRecord> {
  const record = await store.getProvisioning(id);
  if (!record) throw new NotFoundError(`no provisioning record ${id}`);
  return record;
}
