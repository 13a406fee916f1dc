import { paginate } from "../html";
import type { CommandInput } from "../model";
import type { ChatReplies, OutgoingMessage } from "../ports";
import { requireAccount, sendLines, textOf } from "./context";
import type { CommandDeps } from "./context";

/** Callback data of the page buttons: `positions:<page>`. */
export const POSITIONS_PAGE = /^positions:(\d{1,4})$/;

async function positionPages(deps: CommandDeps, input: CommandInput, userId: string): Promise<string[]> {
  const text = textOf(input);
  const positions = (await deps.services.positions?.listOpen(userId)) ?? [];
  if (positions.length === 0) return [text.positionsNone];
  return paginate([text.positionsHeader(positions.length), ...positions.map((position) => text.position(position))], deps.pageLimit);
}

/** Page `page` (1-based) of `pages`, with ‹ › buttons when there is more than one. */
function pageMessage(input: CommandInput, pages: readonly string[], page: number): OutgoingMessage {
  const html = pages[page - 1] ?? "";
  if (pages.length < 2) return { html };
  const text = textOf(input);
  const row = [
    ...(page > 1 ? [{ text: "‹", data: `positions:${page - 1}` }] : []),
    { text: text.pageLabel(page, pages.length), data: `positions:${page}` },
    ...(page < pages.length ? [{ text: "›", data: `positions:${page + 1}` }] : []),
  ];
  return { html, buttons: [row] };
}

/** /positions: open positions, a page at a time under Telegram's limit. */
export async function showPositions(deps: CommandDeps, input: CommandInput, chat: ChatReplies): Promise<void> {
  if (!deps.services.positions) return chat.send({ html: textOf(input).unavailable });
  const account = await requireAccount(deps, input, chat);
  if (!account) return;
  await chat.send(pageMessage(input, await positionPages(deps, input, account.userId), 1));
}

/** A page button pressed: the list is read again and the message shows that page. */
export async function turnPositionsPage(deps: CommandDeps, input: CommandInput, chat: ChatReplies, page: number): Promise<void> {
  if (!deps.services.positions) return chat.edit({ html: textOf(input).unavailable });
  const account = await deps.services.accounts.findByTelegramId(input.telegramId);
  if (!account) return chat.edit({ html: textOf(input).notRegistered });
  const pages = await positionPages(deps, input, account.userId);
  if (page < 1 || page > pages.length) return chat.edit({ html: textOf(input).pageExpired });
  await chat.edit(pageMessage(input, pages, page));
}

/** /status: reconciliation and guard status. */
export async function showStatus(deps: CommandDeps, input: CommandInput, chat: ChatReplies): Promise<void> {
  if (!deps.services.positions) return chat.send({ html: textOf(input).unavailable });
  const account = await requireAccount(deps, input, chat);
  if (!account) return;
  await sendLines(deps, chat, textOf(input).status(await deps.services.positions.status(account.userId)));
}
