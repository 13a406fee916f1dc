/**
 * RFC 7396 JSON merge patch of a flat settings document: a member with a value replaces the key,
 * `null` removes it, members left out stay. A patch that is not an object replaces the whole
 * document (RFC 7396 section 2), which validation then refuses unless it is a valid document.
 */
export function mergePatch(target: Readonly<Record<string, unknown>>, patch: unknown): unknown {
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) return patch;
  const result: Record<string, unknown> = { ...target };
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) {
      delete result[key];
      continue;
    }
    const current = Object.hasOwn(result, key) ? result[key] : undefined;
    const merged =
      typeof value === "object" && !Array.isArray(value)
        ? mergePatch(typeof current === "object" && current !== null && !Array.isArray(current) ? (current as Record<string, unknown>) : {}, value)
        : value;
    // An own property even for `__proto__` (validation then refuses that name; nothing's prototype changes).
    Object.defineProperty(result, key, { value: merged, enumerable: true, writable: true, configurable: true });
  }
  return result;
}
