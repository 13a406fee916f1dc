/**
 * The Bot API's `parse_mode: "HTML"` rules, as far as a fake needs them to catch what the real API
 * refuses: only the documented tags, properly nested; `<`, `>` and `&` outside tags and entities
 * must be escaped; only named entities &lt; &gt; &amp; &quot; and numeric ones. Returns the plain
 * text a user would see (whose length is what the 4096-character limit counts), or the error text
 * Telegram answers with.
 */
const TAGS = new Set(["b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "span", "tg-spoiler", "a", "code", "pre", "blockquote", "tg-emoji"]);
const NAMED_ENTITIES: Readonly<Record<string, string>> = { lt: "<", gt: ">", amp: "&", quot: '"' };

export type HtmlParse = { readonly ok: true; readonly plain: string } | { readonly ok: false; readonly error: string };

interface Cursor {
  readonly text: string;
  index: number;
  plain: string;
  readonly open: string[];
}

export function parseTelegramHtml(text: string): HtmlParse {
  const cursor: Cursor = { text, index: 0, plain: "", open: [] };
  while (cursor.index < text.length) {
    const char = text[cursor.index] ?? "";
    const error = char === "<" ? readTag(cursor) : char === "&" ? readEntity(cursor) : char === ">" ? unescaped(cursor, ">") : readChar(cursor);
    if (error) return { ok: false, error: `can't parse entities: ${error}` };
  }
  const unclosed = cursor.open.at(-1);
  if (unclosed) return { ok: false, error: `can't parse entities: Can't find end tag corresponding to start tag "${unclosed}"` };
  return { ok: true, plain: cursor.plain };
}

function byteOffset(cursor: Cursor): number {
  return Buffer.byteLength(cursor.text.slice(0, cursor.index), "utf8");
}

function unescaped(cursor: Cursor, char: string): string {
  return `Character '${char}' at byte offset ${byteOffset(cursor)} must be escaped`;
}

function readChar(cursor: Cursor): undefined {
  cursor.plain += cursor.text[cursor.index];
  cursor.index += 1;
  return undefined;
}

function readTag(cursor: Cursor): string | undefined {
  const match = /^<(\/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[a-zA-Z-]+(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s>"']+))?)*)\s*>/.exec(cursor.text.slice(cursor.index));
  if (!match) return unescaped(cursor, "<");
  const [whole, closing, rawName] = match;
  const name = (rawName ?? "").toLowerCase();
  if (!TAGS.has(name)) return `Unsupported ${closing ? "end" : "start"} tag "${name}" at byte offset ${byteOffset(cursor)}`;
  if (closing) {
    const expected = cursor.open.pop();
    if (expected !== name) return `Unmatched end tag at byte offset ${byteOffset(cursor)}, expected "</${expected ?? ""}>", found "</${name}>"`;
  } else {
    cursor.open.push(name);
  }
  cursor.index += whole.length;
  return undefined;
}

function readEntity(cursor: Cursor): string | undefined {
  const match = /^&(#[0-9]{1,7}|#x[0-9a-fA-F]{1,6}|[a-zA-Z]+);/.exec(cursor.text.slice(cursor.index));
  const body = match?.[1];
  if (!match || body === undefined) return unescaped(cursor, "&");
  const codePoint = body.startsWith("#x") ? Number.parseInt(body.slice(2), 16) : body.startsWith("#") ? Number.parseInt(body.slice(1), 10) : undefined;
  const decoded = codePoint === undefined ? NAMED_ENTITIES[body.toLowerCase()] : codePoint <= 0x10ffff ? String.fromCodePoint(codePoint) : undefined;
  if (decoded === undefined) return `Unsupported HTML entity "&${body};" at byte offset ${byteOffset(cursor)}`;
  cursor.plain += decoded;
  cursor.index += match[0].length;
  return undefined;
}
