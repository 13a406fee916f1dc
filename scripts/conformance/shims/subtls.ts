/** subtls (TLS in JavaScript over the WebSocket) is not installed: the one test that uses it fails with this. */
const missing = (): never => {
  throw new Error("subtls is not installed: the local relay fronts a Postgres without TLS");
};
export const TrustedCert = { fromPEM: missing };
export const WebSocketReadQueue = missing;
export const startTls = missing;
