import { config } from "zod/mini";
import { en } from "zod/locales";

/**
 * Schemas are written with zod/mini (a third of the classic API's bundle weight; see README
 * "Functions and bundles"), which ships no locale: without this every message would read "Invalid
 * input". Imported for this effect by core/config.ts (every function reads config first) and by
 * the HTTP route stack; English only, so no other locale reaches a bundle.
 */
config(en());
