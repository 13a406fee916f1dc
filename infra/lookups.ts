import { lambda } from "./platform";
import type { Platform } from "./platform";

/** Identifier lookups (system A) and the admin API over their mappings. */
export function lookupsInfra({ api, secrets, redis, postgres }: Platform) {
  const legacyLookupUrl = process.env.LEGACY_LOOKUP_URL;
  const fn = (handler: string, options: { timeout?: `${number} seconds`; memory?: `${number} MB` } = {}) =>
    lambda(handler, {
      ...options,
      link: [secrets.jwt, ...redis, ...postgres],
      environment: legacyLookupUrl ? { LEGACY_LOOKUP_URL: legacyLookupUrl } : {},
    });
  api.route("GET /v1/lookups/{identifier}", fn("functions/lookups-get.handler"));
  api.route("POST /v1/lookups/batch", fn("functions/lookups-batch.handler", { timeout: "15 seconds" }));
  api.route("PUT /v1/admin/mappings/{userId}", fn("functions/lookups-mapping-put.handler"));
  api.route("PATCH /v1/admin/mappings/{userId}", fn("functions/lookups-mapping-patch.handler"));
  api.route("GET /v1/admin/mappings/{userId}", fn("functions/lookups-mapping-get.handler"));
  api.route("DELETE /v1/admin/mappings/{userId}", fn("functions/lookups-mapping-delete.handler"));
  api.route("GET /v1/admin/mappings", fn("functions/lookups-mapping-search.handler"));
  api.route("GET /v1/admin/stats", fn("functions/lookups-stats.handler", { memory: "256 MB" }));
}
