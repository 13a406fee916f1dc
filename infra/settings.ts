import { lambda } from "./platform";
import type { Platform } from "./platform";

/** User settings (system B): Postgres rows with history, the Redis fast copy bots read. */
export function settingsInfra({ api, secrets, redis, postgres }: Platform) {
  const fn = (handler: string) => lambda(handler, { link: [secrets.jwt, ...redis, ...postgres] });
  api.route("GET /v1/users/{ref}/settings", fn("functions/settings-get-all.handler"));
  api.route("GET /v1/users/{ref}/settings/{type}", fn("functions/settings-get.handler"));
  api.route("PUT /v1/users/{ref}/settings/{type}", fn("functions/settings-put.handler"));
  api.route("PATCH /v1/users/{ref}/settings/{type}", fn("functions/settings-patch.handler"));
  api.route("DELETE /v1/users/{ref}/settings/{type}", fn("functions/settings-delete.handler"));
  api.route("GET /v1/users/{ref}/settings/{type}/history", fn("functions/settings-history.handler"));
  api.route("POST /v1/users/{ref}/settings/{type}/restore", fn("functions/settings-restore.handler"));
}
