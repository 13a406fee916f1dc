/**
 * Telegram HTML (`parse_mode: "HTML"`): every reply is HTML, and every value that came from a
 * user, the exchange or the database goes through `escapeHtml` (Telegram requires `<`, `>`, `&`
 * and, inside attributes, `"` as entities).
 */
export function escapeHtml(value: unknown): string {
  return String(value).replaceAll("&", "&amp;").replaceAll("<", "&lt;").replaceAll(">", "&gt;").replaceAll('"', "&quot;");
}

/** Telegram's limit on a message's text (what the user sees; the HTML source is never shorter). */
export const MESSAGE_LIMIT = 4096;

/** Tags and entities out, the entities decoded: what a line shows. */
function plainText(html: string): string {
  return html
    .replace(/<[^>]*>/g, "")
    .replaceAll("&lt;", "<")
    .replaceAll("&gt;", ">")
    .replaceAll("&quot;", '"')
    .replaceAll("&amp;", "&");
}

/** A line too long for one message: its plain text, re-escaped, cut into pieces that fit. */
function splitLongLine(html: string, limit: number): string[] {
  const pieces: string[] = [];
  let piece = "";
  for (const char of plainText(html)) {
    const escaped = escapeHtml(char);
    if (piece.length + escaped.length > limit) {
      pieces.push(piece);
      piece = "";
    }
    piece += escaped;
  }
  if (piece) pieces.push(piece);
  return pieces;
}

/**
 * Lines of HTML (each well-formed on its own) grouped into pages whose source stays within
 * `limit`, breaking only between lines; a single line longer than a page loses its formatting and
 * is cut. Measuring the source keeps every page under the limit whatever the markup.
 */
export function paginate(lines: readonly string[], limit = MESSAGE_LIMIT): string[] {
  const pages: string[] = [];
  let page = "";
  const flush = () => {
    if (page) pages.push(page);
    page = "";
  };
  for (const line of lines) {
    for (const part of line.length > limit ? splitLongLine(line, limit) : [line]) {
      const joined = page ? `${page}\n${part}` : part;
      if (joined.length > limit) {
        flush();
        page = part;
      } else {
        page = joined;
      }
    }
  }
  flush();
  return pages;
}
