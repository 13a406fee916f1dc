/** A value built by its first call and returned as is by every later one. */
export type Lazy<T> = () => T;

/**
 * Defers building a schema (or any value) to its first use. zod runs every trait's initialiser for
 * each schema it builds, so schemas built at module load were most of the time a handler's own
 * modules took to evaluate at import (README "import-handler"); built on first use, a cold start
 * builds only those its path needs, and response schemas only for the OpenAPI document.
 * Call sites annotate the call with esbuild's `@__PURE__` comment, so that a bundle that never
 * uses a schema drops it.
 */
export function lazy<T>(build: () => T): Lazy<T> {
  let built: { readonly value: T } | undefined;
  return () => (built ??= { value: build() }).value;
}
