import { lambda } from "./platform";
import type { Platform } from "./platform";

/** GET /health: public; probes Redis, Postgres and the provisioning queue. */
export function healthInfra({ api, redis, postgres }: Platform, provisioningQueue: unknown) {
  api.route("GET /health", lambda("functions/health-check.handler", { link: [...redis, ...postgres, provisioningQueue], memory: "256 MB", timeout: "5 seconds" }));
}
