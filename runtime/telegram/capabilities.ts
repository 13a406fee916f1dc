/**
 * Every capability the bot serves, behind the one dynamic `import()` of runtime/telegram.ts: in the
 * split bundle it is a single chunk, loaded by the first command that needs any of them. One chunk
 * rather than one per capability: each file a cold start loads costs more than its bytes (a chunk
 * per capability made the entry eight files and the first /status load three more), so entry plus
 * all of them imports faster than entry plus the positions chunk alone did (Node 22, 2026-11-30).
 */
export { botAccounts } from "./accounts";
export { exchangeAccounts } from "../exchange";
export { registrationForBot } from "../registration";
export { settingsForBot } from "../settings";
export { positionsForBot } from "./positions";
