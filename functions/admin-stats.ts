import { lookups } from "../runtime/lookups";
import { httpRoute } from "../runtime/http/route";

const { stats, legacy, cache } = lookups();

/** Counts of this container since it started; fleet-wide figures are the CloudWatch metrics. */
export const handler = httpRoute({ auth: ["admin"] }, async () => ({
  status: 200,
  body: { lookups: stats.snapshot(), breakers: { legacy: legacy.breakerState(), cache: cache.breakerState() } },
}));
