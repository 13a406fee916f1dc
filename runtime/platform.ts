import { randomIds, systemClock } from "../core/clock";
import type { Clock, IdGenerator } from "../core/clock";
import { platformConfigSchema } from "../core/config";
import type { PlatformConfig } from "../core/config";
import { createLogger } from "../core/observability/logger";
import type { Logger } from "../core/observability/logger";
import { configFor, once } from "./config";

/** What every function has: its platform config, a logger, time and ids. No clients. */
export interface Platform {
  readonly config: PlatformConfig;
  readonly logger: Logger;
  readonly clock: Clock;
  readonly ids: IdGenerator;
}

export function platform(): Platform {
  return once(platform, () => {
    const config = configFor(platformConfigSchema);
    return { config, logger: createLogger({ serviceName: config.SERVICE_NAME, level: config.LOG_LEVEL }), clock: systemClock, ids: randomIds };
  });
}
