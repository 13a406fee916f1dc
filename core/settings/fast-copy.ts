import { createHash } from "node:crypto";
import type { SettingsDocument, SettingsOwner } from "./model";

/** The name the fast copy of a user lives under: the OKX UID bots know, or the user id without one. */
export function fastCopyBase(owner: SettingsOwner): string {
  return owner.okxUid ?? owner.userId;
}

/**
 * A hash of a fast copy's content in its legacy representation, tolerant of how it was read: the
 * Redis client turns hash fields like `"10"` into 10, and a JSON string into its object, so every
 * value is hashed as text (strings as they are, the rest as JSON) with keys sorted. Equal for what
 * this service wrote and for what it reads back unchanged; different once a bot edits a value.
 */
export function legacyContentHash(content: Readonly<Record<string, unknown>>): string {
  const entries = Object.keys(content)
    .sort()
    .map((key) => {
      const value = content[key];
      return [key, typeof value === "string" ? value : JSON.stringify(value)];
    });
  return createHash("sha256").update(JSON.stringify(entries)).digest("base64url").slice(0, 22);
}

/** What the companion meta hash holds for one type. */
export type FastCopyMeta =
  | { readonly version: number; readonly hash: string; readonly updatedAt: string; readonly settings: SettingsDocument; readonly deleted?: false }
  /** The type is absent or deleted in Postgres: readers answer null without asking Postgres. */
  | { readonly version: number; readonly deleted: true; readonly updatedAt: string };

/**
 * Meta fields are JSON with `v` first, so the refresh script can read the version with a pattern
 * (the local in-process Redis engine has no cjson).
 */
export function encodeMeta(meta: FastCopyMeta): string {
  return meta.deleted
    ? JSON.stringify({ v: meta.version, deleted: true, u: meta.updatedAt })
    : JSON.stringify({ v: meta.version, h: meta.hash, u: meta.updatedAt, d: meta.settings });
}

/** Reads a meta field (the Redis client may have parsed the JSON already); null when unreadable. */
export function decodeMeta(raw: unknown): FastCopyMeta | null {
  let value = raw;
  if (typeof raw === "string") {
    try {
      value = JSON.parse(raw) as unknown;
    } catch {
      return null;
    }
  }
  if (typeof value !== "object" || value === null) return null;
  const meta = value as { v?: unknown; h?: unknown; u?: unknown; d?: unknown; deleted?: unknown };
  if (typeof meta.v !== "number" || typeof meta.u !== "string") return null;
  if (meta.deleted === true) return { version: meta.v, deleted: true, updatedAt: meta.u };
  if (typeof meta.h !== "string" || typeof meta.d !== "object" || meta.d === null || Array.isArray(meta.d)) return null;
  return { version: meta.v, hash: meta.h, updatedAt: meta.u, settings: meta.d as SettingsDocument };
}
