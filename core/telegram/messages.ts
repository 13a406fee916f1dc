import type { ErrorCode, FieldIssue } from "../errors";
import type { CredentialProblem } from "../exchange/model";
import { escapeHtml as e } from "./html";
import type { GuardLevel, Locale, OpenPosition, SettingsType, StatusView } from "./model";

/**
 * Every text the bot sends, in English and Korean, as Telegram HTML. Values that did not come from
 * this file are escaped here, so a command never builds markup itself.
 */
export interface Catalogue {
  readonly greetingUnknown: (name: string) => string;
  readonly greetingKnown: (name: string, okxUid: string | null) => string;
  readonly help: (inGroup: boolean) => string;
  readonly privateOnly: string;
  readonly unknownCommand: (command: string) => string;
  readonly notACommand: string;
  readonly rateLimited: (seconds: number) => string;
  readonly notRegistered: string;
  readonly unavailable: string;
  readonly setapiUsage: string;
  readonly setapiInGroup: string;
  readonly setapiEdited: string;
  readonly setapiBadShape: (issues: readonly FieldIssue[]) => string;
  readonly setapiRejected: (problem: CredentialProblem) => string;
  readonly setapiExchangeDown: string;
  readonly setapiTaken: string;
  readonly setapiDone: (maskedKey: string, okxUid: string, created: boolean) => string;
  readonly settingsTitle: string;
  readonly settingsType: (type: SettingsType) => string;
  readonly settingsEmpty: string;
  readonly setUsage: string;
  readonly setUnknownType: (type: string) => string;
  readonly setInvalid: (issues: readonly FieldIssue[]) => string;
  readonly setDone: (type: SettingsType, key: string, value: unknown) => string;
  readonly positionsNone: string;
  readonly positionsHeader: (count: number) => string;
  readonly position: (position: OpenPosition) => string;
  readonly status: (status: StatusView) => string[];
  readonly errorReply: (code: ErrorCode, message: string) => string;
  readonly pageLabel: (page: number, pages: number) => string;
  readonly pageExpired: string;
  /** The command menu Telegram clients show (setMyCommands): plain text, at most 256 characters each. */
  readonly menu: Readonly<Record<"start" | "help" | "setapi" | "settings" | "set" | "positions" | "status", string>>;
}

const valueText = (value: unknown) => (typeof value === "string" ? value : JSON.stringify(value));
const issueLines = (issues: readonly FieldIssue[], names: Readonly<Record<string, string>> = {}) =>
  issues.map((issue) => `• <code>${e(names[issue.field] ?? issue.field)}</code>: ${e(issue.message)}`).join("\n");
const number = (value: string | null) => (value === null ? "–" : e(value));
const at = (date: Date | null) => (date ? e(date.toISOString().replace("T", " ").slice(0, 16)) + " UTC" : "–");
const setapiSyntax = (key: string, secret: string, passphrase: string) => `<code>/setapi &lt;${key}&gt; &lt;${secret}&gt; &lt;${passphrase}&gt;</code>`;

const enGuard: Readonly<Record<GuardLevel, string>> = { normal: "normal", warning: "⚠️ warning", critical: "🛑 critical" };
const koGuard: Readonly<Record<GuardLevel, string>> = { normal: "정상", warning: "⚠️ 경고", critical: "🛑 위험" };

const en: Catalogue = {
  greetingUnknown: (name) =>
    `Hello, ${e(name)}! I am the botstate bot.\n\nYou are not registered yet. To connect your OKX account, send here, in this private chat:\n${setapiSyntax("api key", "secret key", "passphrase")}\nThe message with your keys is deleted at once.`,
  greetingKnown: (name, okxUid) => `Welcome back, ${e(name)}!\nOKX account: <code>${e(okxUid ?? "not connected")}</code>\n/settings · /positions · /status · /help`,
  help: (inGroup) =>
    [
      "<b>Commands</b>",
      "/start – greeting and your registration",
      `/setapi &lt;api key&gt; &lt;secret&gt; &lt;passphrase&gt; – connect your OKX API keys (private chat only)`,
      "/settings – your settings",
      "/set &lt;type&gt; &lt;key&gt; &lt;value&gt; – change one setting (types: preferences, params, dual_side)",
      "/positions – open positions",
      "/status – reconciliation and guard status",
      "/help – this list",
      ...(inGroup ? ["", "In groups I answer /help only: talk to me in a private chat."] : []),
    ].join("\n"),
  privateOnly: "This command works only in a private chat with me.",
  unknownCommand: (command) => `I don't know ${e(command)}. Send /help for the list of commands.`,
  notACommand: "Send me a command; /help lists them.",
  rateLimited: (seconds) => `Too many commands. Please wait ${seconds} s.`,
  notRegistered: `You are not registered yet: connect your OKX account with ${setapiSyntax("api key", "secret key", "passphrase")}.`,
  unavailable: "This command is not available yet. Please try again later.",
  setapiUsage: `Usage: ${setapiSyntax("api key", "secret key", "passphrase")}\nYour message was deleted.`,
  setapiInGroup:
    "Never send API keys in a group. I deleted the message, but others may have seen it: delete these keys on OKX and register new ones in a private chat with me.",
  setapiEdited: "I don't process edited messages. I deleted the one with your keys: send /setapi again as a new message.",
  setapiBadShape: (issues) =>
    `These don't look like OKX API keys:\n${issueLines(issues, { apiKey: "api key", secretKey: "secret key", passphrase: "passphrase" })}\nYour message was deleted; nothing was stored.`,
  setapiRejected: (problem) =>
    `${
      {
        unknown_key: "OKX does not know this API key.",
        wrong_passphrase: "The passphrase is wrong.",
        wrong_secret: "The secret key is wrong (OKX rejected the signature).",
        clock_skew: "OKX rejected the request's time. Please try again in a minute.",
        not_permitted: "These keys may not read the account (permissions or IP allow-list).",
      }[problem]
    } Nothing was stored; your message was deleted.`,
  setapiExchangeDown: "OKX cannot be reached right now. Nothing was stored; your message was deleted. Please send /setapi again in a minute.",
  setapiTaken:
    "This clashes with an existing registration: the OKX account belongs to another Telegram account, or yours is registered with another OKX account. Nothing was stored; your message was deleted.",
  setapiDone: (maskedKey, okxUid, created) =>
    `${created ? "Registered" : "Updated"}: OKX API key <code>${e(maskedKey)}</code>, account <code>${e(okxUid)}</code>.\nThe message with your keys was deleted. /settings shows your settings.`,
  settingsTitle: "<b>Your settings</b>",
  settingsType: (type) => `<b>${{ preferences: "Preferences", params: "Trading parameters", dual_side: "Dual-side entry" }[type]}</b> (${type})`,
  settingsEmpty: "  (none)",
  setUsage: "Usage: <code>/set &lt;type&gt; &lt;key&gt; &lt;value&gt;</code>\nTypes: preferences, params, dual_side\nExample: <code>/set params leverage 10</code>",
  setUnknownType: (type) => `Unknown settings type ${e(type)}: use preferences, params or dual_side.`,
  setInvalid: (issues) => `Not changed:\n${issueLines(issues)}`,
  setDone: (type, key, value) => `Changed: <code>${e(type)}.${e(key)}</code> = <code>${e(valueText(value))}</code>`,
  positionsNone: "No open positions.",
  positionsHeader: (count) => `<b>Open positions: ${count}</b>`,
  position: (p) =>
    `${e(p.symbol)} <b>${p.side === "long" ? "long" : "short"}</b> ${e(p.size)} @ ${number(p.entryPrice)} · PnL ${number(p.unrealizedPnl)}${p.leverage ? ` · ${e(p.leverage)}x` : ""}`,
  status: ({ reconciliation: r, guard }) => [
    "<b>Status</b>",
    `Syncs: ${r.totalSyncs}, last ${at(r.lastSyncAt)}`,
    `Open positions: ${r.openPositions}`,
    `Divergences: ${r.divergences}`,
    `Guard: ${enGuard[guard.level]}${guard.drawdownPercent === null ? "" : ` (drawdown ${guard.drawdownPercent.toFixed(1)} %)`}`,
    ...(r.recentEvents.length ? ["Recent events:", ...r.recentEvents.map((event) => `• ${at(event.at)} ${e(event.message)}`)] : []),
  ],
  errorReply: (code, message) =>
    ({
      invalid: `That didn't work: ${e(message)}`,
      unprocessable: `That didn't work: ${e(message)}`,
      not_found: "Not found.",
      conflict: `That clashes with something else: ${e(message)}`,
      forbidden: "You may not do that.",
      rate_limited: "Too many requests. Please wait a moment.",
    })[code as string] ?? "Sorry, that didn't work.",
  pageLabel: (page, pages) => `${page}/${pages}`,
  pageExpired: "This list changed; send the command again.",
  menu: {
    start: "Greeting and your registration",
    help: "The commands",
    setapi: "Connect your OKX API keys (private chat)",
    settings: "Your settings",
    set: "Change one setting: /set <type> <key> <value>",
    positions: "Open positions",
    status: "Reconciliation and guard status",
  },
};

const ko: Catalogue = {
  greetingUnknown: (name) =>
    `안녕하세요, ${e(name)}님! botstate 봇입니다.\n\n아직 등록되지 않았습니다. OKX 계정을 연결하려면 이 개인 채팅에서 다음과 같이 보내 주세요:\n${setapiSyntax("API 키", "시크릿 키", "패스프레이즈")}\n키가 담긴 메시지는 바로 삭제됩니다.`,
  greetingKnown: (name, okxUid) => `다시 오신 것을 환영합니다, ${e(name)}님!\nOKX 계정: <code>${e(okxUid ?? "연결 안 됨")}</code>\n/settings · /positions · /status · /help`,
  help: (inGroup) =>
    [
      "<b>명령어</b>",
      "/start – 인사 및 등록 상태",
      "/setapi &lt;API 키&gt; &lt;시크릿&gt; &lt;패스프레이즈&gt; – OKX API 키 등록 (개인 채팅 전용)",
      "/settings – 내 설정 보기",
      "/set &lt;유형&gt; &lt;키&gt; &lt;값&gt; – 설정 하나 변경 (유형: preferences, params, dual_side)",
      "/positions – 열린 포지션",
      "/status – 동기화 및 가드 상태",
      "/help – 이 목록",
      ...(inGroup ? ["", "그룹에서는 /help 에만 답합니다. 저와 개인 채팅으로 대화해 주세요."] : []),
    ].join("\n"),
  privateOnly: "이 명령어는 저와의 개인 채팅에서만 사용할 수 있습니다.",
  unknownCommand: (command) => `알 수 없는 명령어입니다: ${e(command)}. /help 로 명령어 목록을 확인하세요.`,
  notACommand: "명령어를 보내 주세요. /help 로 목록을 볼 수 있습니다.",
  rateLimited: (seconds) => `명령이 너무 많습니다. ${seconds}초 후에 다시 시도해 주세요.`,
  notRegistered: `아직 등록되지 않았습니다. ${setapiSyntax("API 키", "시크릿 키", "패스프레이즈")} 로 OKX 계정을 연결하세요.`,
  unavailable: "이 명령어는 아직 사용할 수 없습니다. 나중에 다시 시도해 주세요.",
  setapiUsage: `사용법: ${setapiSyntax("API 키", "시크릿 키", "패스프레이즈")}\n보내신 메시지는 삭제했습니다.`,
  setapiInGroup:
    "API 키를 그룹에 보내면 안 됩니다. 메시지는 삭제했지만 다른 사람이 이미 보았을 수 있습니다. OKX에서 이 키를 삭제하고, 저와의 개인 채팅에서 새 키를 등록하세요.",
  setapiEdited: "수정된 메시지는 처리하지 않습니다. 키가 담긴 메시지는 삭제했습니다. /setapi 를 새 메시지로 다시 보내 주세요.",
  setapiBadShape: (issues) =>
    `OKX API 키 형식이 아닙니다:\n${issueLines(issues, { apiKey: "API 키", secretKey: "시크릿 키", passphrase: "패스프레이즈" })}\n메시지는 삭제했고, 아무것도 저장하지 않았습니다.`,
  setapiRejected: (problem) =>
    `${
      {
        unknown_key: "OKX에 없는 API 키입니다.",
        wrong_passphrase: "패스프레이즈가 올바르지 않습니다.",
        wrong_secret: "시크릿 키가 올바르지 않습니다 (OKX가 서명을 거부했습니다).",
        clock_skew: "OKX가 요청 시각을 거부했습니다. 잠시 후 다시 시도해 주세요.",
        not_permitted: "이 키로는 계정 정보를 읽을 수 없습니다 (권한 또는 IP 허용 목록).",
      }[problem]
    } 아무것도 저장하지 않았고, 메시지는 삭제했습니다.`,
  setapiExchangeDown: "지금은 OKX에 연결할 수 없습니다. 아무것도 저장하지 않았고, 메시지는 삭제했습니다. 잠시 후 /setapi 를 다시 보내 주세요.",
  setapiTaken: "기존 등록과 충돌합니다. 이 OKX 계정이 다른 텔레그램 계정에 등록되어 있거나, 회원님의 계정이 다른 OKX 계정으로 등록되어 있습니다. 아무것도 저장하지 않았고, 메시지는 삭제했습니다.",
  setapiDone: (maskedKey, okxUid, created) =>
    `${created ? "등록 완료" : "업데이트 완료"}: OKX API 키 <code>${e(maskedKey)}</code>, 계정 <code>${e(okxUid)}</code>.\n키가 담긴 메시지는 삭제했습니다. /settings 로 설정을 확인하세요.`,
  settingsTitle: "<b>내 설정</b>",
  settingsType: (type) => `<b>${{ preferences: "환경설정", params: "거래 파라미터", dual_side: "양방향 진입" }[type]}</b> (${type})`,
  settingsEmpty: "  (없음)",
  setUsage: "사용법: <code>/set &lt;유형&gt; &lt;키&gt; &lt;값&gt;</code>\n유형: preferences, params, dual_side\n예: <code>/set params leverage 10</code>",
  setUnknownType: (type) => `알 수 없는 설정 유형입니다: ${e(type)}. preferences, params, dual_side 중 하나를 사용하세요.`,
  setInvalid: (issues) => `변경하지 않았습니다:\n${issueLines(issues)}`,
  setDone: (type, key, value) => `변경 완료: <code>${e(type)}.${e(key)}</code> = <code>${e(valueText(value))}</code>`,
  positionsNone: "열린 포지션이 없습니다.",
  positionsHeader: (count) => `<b>열린 포지션: ${count}개</b>`,
  position: (p) =>
    `${e(p.symbol)} <b>${p.side === "long" ? "롱" : "숏"}</b> ${e(p.size)} @ ${number(p.entryPrice)} · 손익 ${number(p.unrealizedPnl)}${p.leverage ? ` · ${e(p.leverage)}x` : ""}`,
  status: ({ reconciliation: r, guard }) => [
    "<b>상태</b>",
    `동기화: ${r.totalSyncs}회, 마지막 ${at(r.lastSyncAt)}`,
    `열린 포지션: ${r.openPositions}개`,
    `불일치: ${r.divergences}건`,
    `가드: ${koGuard[guard.level]}${guard.drawdownPercent === null ? "" : ` (낙폭 ${guard.drawdownPercent.toFixed(1)}%)`}`,
    ...(r.recentEvents.length ? ["최근 이벤트:", ...r.recentEvents.map((event) => `• ${at(event.at)} ${e(event.message)}`)] : []),
  ],
  errorReply: (code, message) =>
    ({
      invalid: `처리하지 못했습니다: ${e(message)}`,
      unprocessable: `처리하지 못했습니다: ${e(message)}`,
      not_found: "찾을 수 없습니다.",
      conflict: `다른 요청과 충돌했습니다: ${e(message)}`,
      forbidden: "권한이 없습니다.",
      rate_limited: "요청이 너무 많습니다. 잠시 후 다시 시도해 주세요.",
    })[code as string] ?? "죄송합니다. 처리하지 못했습니다.",
  pageLabel: (page, pages) => `${page}/${pages}`,
  pageExpired: "목록이 바뀌었습니다. 명령어를 다시 보내 주세요.",
  menu: {
    start: "인사 및 등록 상태",
    help: "명령어 목록",
    setapi: "OKX API 키 등록 (개인 채팅)",
    settings: "내 설정 보기",
    set: "설정 변경: /set <유형> <키> <값>",
    positions: "열린 포지션",
    status: "동기화 및 가드 상태",
  },
};

const catalogues: Readonly<Record<Locale, Catalogue>> = { en, ko };

export function catalogue(locale: Locale): Catalogue {
  return catalogues[locale];
}
