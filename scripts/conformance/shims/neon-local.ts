/**
 * Setup file for the @neondatabase/serverless repository's tests (scripts/conformance/neon-serverless.ts):
 * points the driver at the local Neon endpoint, as core/db/neon.ts does for the application. Only
 * the endpoints change; pipelineConnect stays at the driver's default.
 */
import { neonConfig } from "@neondatabase/serverless";

const fetchEndpoint = process.env.NEON_FETCH_ENDPOINT;
const wsProxy = process.env.NEON_WS_PROXY;
if (!fetchEndpoint || !wsProxy) throw new Error("NEON_FETCH_ENDPOINT and NEON_WS_PROXY must point at the local Neon endpoint");
neonConfig.fetchEndpoint = fetchEndpoint;
neonConfig.wsProxy = (host, port) => `${wsProxy}?address=${host}:${port}`;
neonConfig.useSecureWebSocket = false;
neonConfig.forceDisablePgSSL = true;
