import { ConflictError, UnavailableError } from "../../errors";
import type { FieldIssue } from "../../errors";
import type { ExchangeAccount, ExchangeCredentials } from "../../exchange/model";
import { maskApiKey } from "../../exchange/model";
import { CredentialsRejectedError } from "../../exchange/ports";
import { okxCredentialsSchema } from "../../exchange/schemas";
import type { CommandInput } from "../model";
import type { BotRegistration, ChatReplies } from "../ports";
import { textOf } from "./context";
import type { CommandDeps } from "./context";

/** Time kept back from the exchange call for registration and the reply. */
const RESERVE_MS = 2_500;

/**
 * /setapi <api key> <secret key> <passphrase>: the message carrying the keys is deleted before
 * anything else, on every path (a failed deletion fails the update, so Telegram redelivers it and
 * the deletion is tried again). Then: private chats only, keys of OKX's shape, verified against
 * the exchange (which gives the account's uid), and registered. Wrong keys store nothing.
 */
export async function setApi(deps: CommandDeps, input: CommandInput, chat: ChatReplies): Promise<void> {
  await chat.deleteMessage(input.messageId);
  const text = textOf(input);
  if (input.edited) return chat.send({ html: text.setapiEdited });
  const words = input.args.split(/\s+/).filter(Boolean);
  if (input.chatKind !== "private") return chat.send({ html: words.length > 0 ? text.setapiInGroup : text.privateOnly });
  if (words.length !== 3) return chat.send({ html: text.setapiUsage });
  const [apiKey, secretKey, passphrase] = words as [string, string, string];
  const parsed = okxCredentialsSchema().safeParse({ apiKey, secretKey, passphrase });
  if (!parsed.success) {
    const issues: FieldIssue[] = parsed.error.issues.map((issue) => ({ field: issue.path.join("."), message: issue.message }));
    return chat.send({ html: text.setapiBadShape(issues) });
  }
  const registration = deps.services.registration;
  if (!registration) return chat.send({ html: text.unavailable });
  const account = await verifyKeys(deps, input, chat, parsed.data);
  if (account) await register(deps, registration, input, chat, parsed.data, account);
}

async function verifyKeys(deps: CommandDeps, input: CommandInput, chat: ChatReplies, credentials: ExchangeCredentials): Promise<ExchangeAccount | null> {
  const text = textOf(input);
  try {
    return await deps.services.exchange.verify(credentials, { deadlineMs: deps.remainingMs() - RESERVE_MS });
  } catch (error) {
    if (error instanceof CredentialsRejectedError) {
      deps.log.info("setapi: keys rejected by the exchange", { problem: error.problem, keyEnding: maskApiKey(credentials.apiKey) });
      await chat.send({ html: text.setapiRejected(error.problem) });
      return null;
    }
    // The user must send the keys again anyway (their message is gone): say so rather than retry.
    if (error instanceof UnavailableError) {
      deps.log.warn("setapi: exchange unavailable", { reason: error.message });
      await chat.send({ html: text.setapiExchangeDown });
      return null;
    }
    throw error;
  }
}

async function register(
  deps: CommandDeps,
  registration: BotRegistration,
  input: CommandInput,
  chat: ChatReplies,
  credentials: ExchangeCredentials,
  account: ExchangeAccount,
): Promise<void> {
  const text = textOf(input);
  try {
    const result = await registration.register({ telegramId: input.telegramId, okxUid: account.uid, credentials });
    deps.log.info("setapi: registered", { userId: result.userId, created: result.created, keyEnding: maskApiKey(credentials.apiKey) });
    await chat.send({ html: text.setapiDone(maskApiKey(credentials.apiKey), account.uid, result.created) });
  } catch (error) {
    if (!(error instanceof ConflictError)) throw error;
    deps.log.info("setapi: account taken", { reason: error.message });
    await chat.send({ html: text.setapiTaken });
  }
}
