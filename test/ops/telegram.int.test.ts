import { resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startDevServer } from "../../local/dev-server";
import type { DevServer } from "../../local/dev-server";
import { generateBotToken } from "../../local/fake-telegram-api";
import { loadSstManifest } from "../../local/sst-manifest";
import { useAppEnv } from "../support/cloud";
import type { AppEnv } from "../support/cloud";
import { callsOf, startTestTelegram } from "../support/telegram";
import type { FakeTelegramApi } from "../support/telegram";
import { runOpsCaptured } from "../support/ops";
import type { OpsRun } from "../support/ops";

const SECRET = "ops-test-webhook-secret-0123456789";

let telegram: FakeTelegramApi;
let app: AppEnv;
let server: DevServer;

beforeAll(async () => {
  telegram = await startTestTelegram({ token: generateBotToken() });
  app = await useAppEnv({ TELEGRAM_BOT_TOKEN: telegram.token, TELEGRAM_API_ROOT: telegram.root, TELEGRAM_WEBHOOK_SECRET: SECRET });
  server = await startDevServer({ routes: (await loadSstManifest()).routes });
});

afterAll(async () => {
  await server?.close();
  await telegram?.close();
  await app?.database.drop();
});

/** The CLI in-process, with the environment npm start would leave in .env.local. */
async function ops(...argv: string[]): Promise<OpsRun> {
  const env = { ...process.env, API_URL: server.url };
  return runOpsCaptured([...argv, "--dotenv", resolve("does-not-exist.env")], { env, cwd: resolve(".") });
}

describe("ops telegram simulate", () => {
  it("prints one line per Bot API call the bot made", async () => {
    const { code, out } = await ops("telegram", "simulate", "/start", "--user-id", "7012349999");
    expect(code).toBe(0);
    expect(out.trim().split("\n")).toHaveLength(1);
    expect(out).toMatch(/^sendMessage chat=7012349999: Hello, Minji! I am the botstate bot\. ⏎/);
  });

  it("in Korean, in a group, with the message id given", async () => {
    expect((await ops("telegram", "simulate", "/help", "--language", "ko")).out).toContain("<b>명령어</b>");
    expect((await ops("telegram", "simulate", "/settings", "--chat-type", "group")).out.trim()).toBe("sendMessage chat=-1001234567890: This command works only in a private chat with me.");
    const setapi = await ops("telegram", "simulate", "/setapi", "--message-id", "321");
    expect(setapi.out.trim().split("\n")[0]).toBe("deleteMessage chat=7012345678 message=321");
  });

  it("says no replies for a duplicate update id", async () => {
    expect((await ops("telegram", "simulate", "/help", "--update-id", "424242")).out).toContain("sendMessage");
    const duplicate = await ops("telegram", "simulate", "/help", "--update-id", "424242");
    expect(duplicate.out.trim()).toBe("no replies");
    expect(duplicate.err).toContain("update 424242 -> webhook answered 200");
  });

  it("refuses a bad chat type and a missing text (exit 2)", async () => {
    expect((await ops("telegram", "simulate", "/help", "--chat-type", "channel")).code).toBe(2);
    expect((await ops("telegram", "simulate")).code).toBe(2);
    expect((await ops("telegram", "launch")).code).toBe(2);
  });
});

describe("ops telegram set-webhook / webhook-info / delete-webhook", () => {
  it("sets the webhook with the secret token, the allowed updates and the menu in two languages", async () => {
    telegram.clear();
    const { code, out } = await ops("telegram", "set-webhook", "--url", "https://api.example.org/telegram/webhook", "--drop-pending-updates");
    expect(code).toBe(0);
    expect(out).toContain("Webhook set to https://api.example.org/telegram/webhook");
    const [set] = callsOf(telegram.calls(), "setWebhook");
    expect(set?.params).toEqual({
      url: "https://api.example.org/telegram/webhook",
      secret_token: SECRET,
      allowed_updates: ["message", "edited_message", "callback_query"],
      drop_pending_updates: true,
    });
    const menus = callsOf(telegram.calls(), "setMyCommands");
    expect(menus.map((call) => call.params.language_code)).toEqual([undefined, "ko"]);
    expect((menus[1]?.params.commands as { command: string }[]).map((entry) => entry.command)).toEqual(["start", "help", "setapi", "settings", "set", "positions", "status"]);
  });

  it("reports and deletes the webhook", async () => {
    await ops("telegram", "set-webhook", "--url", "https://api.example.org/telegram/webhook");
    const info = await ops("telegram", "webhook-info");
    expect(info.out).toMatch(/url\s+https:\/\/api\.example\.org\/telegram\/webhook/);
    expect(info.out).toMatch(/allowed updates\s+message, edited_message, callback_query/);
    expect((await ops("telegram", "delete-webhook")).out).toContain("Webhook deleted.");
    expect((await ops("telegram", "webhook-info")).out).toContain("(none: no webhook set)");
  });

  it("needs --url, and reports the Bot API's refusal (exit 1)", async () => {
    expect((await ops("telegram", "set-webhook")).code).toBe(2);
    const refused = await ops("telegram", "set-webhook", "--url", "http://example.org/hook");
    expect(refused.code).toBe(1);
    expect(refused.err).toContain("An HTTPS URL must be provided for webhook");
  });
});
