import { lambda } from "./platform";
import type { Platform } from "./platform";

/** Positions (systems C and E): the live store in Redis, the durable record in Postgres. */
export function positionsInfra({ api, secrets, redis, postgres }: Platform) {
  const fn = (handler: string, options: { timeout?: `${number} seconds` } = {}) => lambda(handler, { ...options, link: [secrets.jwt, ...redis, ...postgres] });
  api.route("PUT /v1/users/{ref}/positions/{exchange}/{symbol}/{side}", fn("functions/positions-put.handler"));
  api.route("DELETE /v1/users/{ref}/positions/{exchange}/{symbol}/{side}", fn("functions/positions-delete.handler"));
  api.route("GET /v1/users/{ref}/positions", fn("functions/positions-list.handler"));
  api.route("GET /v1/positions/{id}", fn("functions/positions-get.handler"));
  api.route("POST /v1/positions/bulk", fn("functions/positions-bulk.handler", { timeout: "15 seconds" }));
}
