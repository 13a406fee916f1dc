import { describe, expect, it } from "vitest";
import { parseConfig, telegramWebhookConfigSchema } from "../../core/config";
import { loadSstManifest } from "../../local/sst-manifest";

describe("infra/telegram.ts as sst.config.ts declares it", () => {
  it("routes POST /telegram/webhook to a function that links only what the bot uses", async () => {
    const manifest = await loadSstManifest();
    expect(manifest.secrets).toEqual(expect.arrayContaining(["TelegramBotToken", "TelegramWebhookSecret", "TelegramAdminChatId"]));
    const webhook = manifest.functions.find((fn) => fn.trigger === "POST /telegram/webhook");
    expect(webhook?.handler.spec).toBe("functions/telegram-webhook.handler");
    const linked = webhook?.links.map((link) => link.name).sort();
    expect(linked).toEqual(["DatabaseUrl", "EncryptionKey", "TelegramBotToken", "TelegramWebhookSecret", "UpstashRedisRestToken", "UpstashRedisRestUrl"]);
  });

  it("gives the function more time than an update's budget and less than a claim's lease", async () => {
    const webhook = (await loadSstManifest()).functions.find((fn) => fn.trigger === "POST /telegram/webhook");
    const defaults = parseConfig(telegramWebhookConfigSchema(), { TELEGRAM_WEBHOOK_SECRET: "0123456789abcdef" });
    expect(webhook?.timeoutSeconds).toBeGreaterThan(defaults.TELEGRAM_HANDLER_BUDGET_MS / 1000);
    expect(webhook?.timeoutSeconds).toBeLessThan(defaults.TELEGRAM_UPDATE_LEASE_SECONDS);
  });
});
