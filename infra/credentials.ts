import { lambda } from "./platform";
import type { Platform } from "./platform";

/**
 * Exchange credentials (issue #9): sealed with AES-256-GCM under the EncryptionKey secret. Only the
 * functions that seal (PUT) or open (the internal read) link a key; the masked read and the delete
 * never see one. EncryptionPreviousKeys holds keys rotated out (comma-separated base64; `none` until
 * the first rotation) and is linked only where values are opened.
 */
export function credentialsInfra({ api, secrets, redis, postgres }: Platform) {
  const previousKeys = new sst.Secret("EncryptionPreviousKeys", "none");
  const fn = (handler: string, keys: readonly unknown[] = []) => lambda(handler, { link: [secrets.jwt, ...postgres, ...keys], memory: "256 MB" });
  api.route("PUT /v1/users/{ref}/credentials/{exchange}", fn("functions/credentials-put.handler", [secrets.encryptionKey]));
  api.route("GET /v1/users/{ref}/credentials/{exchange}", fn("functions/credentials-get.handler"));
  api.route("DELETE /v1/users/{ref}/credentials/{exchange}", fn("functions/credentials-delete.handler"));
  api.route("GET /v1/internal/users/{ref}/credentials/{exchange}", fn("functions/credentials-read-internal.handler", [secrets.encryptionKey, previousKeys]));
  // Registration (the bot's /setapi as a service call): seals credentials, and drops cached lookups of the new mapping (Redis).
  api.route("POST /v1/registrations", lambda("functions/registration-create.handler", { link: [secrets.jwt, secrets.encryptionKey, ...redis, ...postgres] }));
  return { previousKeys };
}
