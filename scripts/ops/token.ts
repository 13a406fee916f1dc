import { issueAccessToken, roles } from "../../core/auth/tokens";
import type { Role } from "../../core/auth/tokens";
import { authConfigSchema, maxTokenAgeSeconds } from "../../core/config";
import { isUuid } from "../../core/identity/uuid";
import { configFor } from "../../runtime/config";
import { platform } from "../../runtime/platform";
import { EXIT_OK, UsageError, defineCommand, positiveInt } from "./command";

export const tokenCommand = defineCommand({
  name: "token",
  usage:
    "token --role admin|service|user --subject <id> [--ttl <seconds>]\nPrint a signed access token (user tokens need a user id as subject). Default ttl 3600; at most\nthe role's JWT_MAX_AGE_<ROLE>_SECONDS (user 1 day, service 30 days, admin 12 hours by default).",
  options: { role: { type: "string" }, subject: { type: "string" }, ttl: { type: "string" } },
  async run({ options, say, warn, requireConfig }) {
    const role = options.role;
    if (role === undefined || !(roles as readonly string[]).includes(role)) throw new UsageError(`--role must be one of ${roles.join(", ")}`);
    const subject = options.subject?.trim();
    if (!subject) throw new UsageError("--subject is required");
    if (role === "user" && !isUuid(subject)) throw new UsageError("a user token's --subject must be the app user id (a UUID)");
    const ttlSeconds = options.ttl === undefined ? 3600 : positiveInt("--ttl", options.ttl);

    requireConfig([authConfigSchema]);
    const auth = configFor(authConfigSchema);
    const maxAge = maxTokenAgeSeconds(auth)[role as Role];
    // The API would refuse a longer-lived token of this role.
    if (ttlSeconds > maxAge) throw new UsageError(`--ttl must be at most ${maxAge} seconds for role ${role} (JWT_MAX_AGE_${role.toUpperCase()}_SECONDS)`);
    const now = platform().clock.now();
    const token = await issueAccessToken(
      { secret: auth.JWT_SECRET, issuer: auth.JWT_ISSUER },
      { role: role as Role, subject: role === "user" ? subject.toLowerCase() : subject, ttlSeconds },
      now,
    );
    say(token);
    warn(`${role} token for ${subject}, expires ${new Date(now.getTime() + ttlSeconds * 1000).toISOString()}`);
    return EXIT_OK;
  },
});
