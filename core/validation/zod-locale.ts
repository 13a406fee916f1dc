import { config } from "zod/mini";
// The one locale's own file: through the `zod/locales` index a bundler keeps every locale as soon
// as it wraps this module for lazy loading (a dynamic import, as runtime/outbox.ts's handler sources do).
import en from "zod/v4/locales/en.js";

/**
 * Schemas are written with zod/mini (a third of the classic API's bundle weight; see README
 * "Functions and bundles"), which ships no locale: without this every message would read "Invalid
 * input". Imported for this effect by core/config.ts (every function reads config first) and by
 * the HTTP route stack; English only, so no other locale reaches a bundle.
 */
config(en());
