import { renameSync } from "node:fs";
import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeOkx } from "../../local/fake-okx";
import type { FakeOkx } from "../../local/fake-okx";
import { generateBotToken } from "../../local/fake-telegram-api";
import { loadSstManifest } from "../../local/sst-manifest";
import { bundleDirectory, bundleFunction } from "../../scripts/size/bundle";
import type { BundleReport } from "../../scripts/size/bundle";
import { useAppEnv } from "../support/cloud";
import type { AppEnv } from "../support/cloud";
import { invokeFresh } from "../support/fresh-process";
import { callsOf, startTestTelegram } from "../support/telegram";
import type { FakeTelegramApi } from "../support/telegram";
import { textUpdate, webhookEvent } from "./support/updates";

const SECRET = "bundle-test-webhook-secret-0123456789";
const directory = bundleDirectory();
let telegram: FakeTelegramApi;
let okx: FakeOkx;
let app: AppEnv;
let bundle: BundleReport;

beforeAll(async () => {
  telegram = await startTestTelegram({ token: generateBotToken() });
  okx = await startFakeOkx();
  app = await useAppEnv({ TELEGRAM_BOT_TOKEN: telegram.token, TELEGRAM_API_ROOT: telegram.root, TELEGRAM_WEBHOOK_SECRET: SECRET, OKX_BASE_URL: okx.url });
  const fn = (await loadSstManifest()).functions.find((candidate) => candidate.handler.spec === "functions/telegram-webhook.handler");
  if (!fn) throw new Error("the Telegram webhook is not declared");
  bundle = await bundleFunction(fn, directory.path);
}, 60_000);

afterAll(async () => {
  directory.dispose();
  await okx?.close();
  await telegram?.close();
  await app?.database.drop();
});

/** One update, delivered to a cold start of the bundle (a fresh process): its status and the replies sent. */
async function coldStart(text: string, sender: { id: number; firstName: string }): Promise<{ status: unknown; replies: string[] }> {
  const before = telegram.calls().length;
  // NODE_PATH: on a Node without a global WebSocket (20), the Neon driver requires ws at run time (core/db/neon.ts); Lambda's 22 has one.
  const env = { ...app.env, NODE_PATH: resolve("node_modules") };
  const { result } = await invokeFresh(bundle.outfile, env, webhookEvent(textUpdate(text, sender), SECRET));
  const replies = callsOf(telegram.calls().slice(before), "sendMessage").map((call) => String(call.params.text));
  return { status: (result as { statusCode?: number }).statusCode, replies };
}

/** Runs `body` with the chunks of the dynamically imported modules moved away, then puts them back. */
async function withoutLazyChunks<T>(body: () => Promise<T>): Promise<T> {
  for (const chunk of bundle.lazy) renameSync(chunk.file, `${chunk.file}.away`);
  try {
    return await body();
  } finally {
    for (const chunk of bundle.lazy) renameSync(`${chunk.file}.away`, chunk.file);
  }
}

describe("the Telegram webhook's split bundle, as SST ships it", () => {
  it("answers from its entry alone, and loads the capabilities' chunk for the commands that need it", { timeout: 60_000 }, async () => {
    expect(bundle.lazy.length).toBeGreaterThan(0);
    const sender = { id: 7_300_000_000 + Math.floor(Math.random() * 1_000_000), firstName: "Mina" };
    // /help: the bot and its ledger only; with the lazily loaded chunk gone, it still answers.
    const help = await withoutLazyChunks(() => coldStart("/help", sender));
    expect(help).toMatchObject({ status: 200, replies: [expect.stringContaining("/setapi")] });
    // /setapi: exchange and registration from the capabilities' chunk (fake OKX, Postgres through the Neon driver).
    const account = okx.addAccount();
    const registered = await coldStart(`/setapi ${account.apiKey} ${account.secretKey} ${account.passphrase}`, sender);
    expect(registered).toMatchObject({ status: 200, replies: [expect.stringContaining("Registered")] });
    // /settings: accounts and settings read what registration stored.
    expect(await coldStart("/settings", sender)).toMatchObject({ status: 200, replies: [expect.stringContaining("leverage")] });
    // /status: positions, reconciliation and guards through their caches.
    const status = await coldStart("/status", sender);
    expect(status.status).toBe(200);
    expect(status.replies).toHaveLength(1);
  });
});
