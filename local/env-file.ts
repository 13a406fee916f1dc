import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";

/** Reads KEY=value lines (no interpolation); a missing file is an empty record. */
export function readEnvFile(path: string): Record<string, string> {
  if (!existsSync(path)) return {};
  const entries: Record<string, string> = {};
  for (const line of readFileSync(path, "utf8").split(/\r?\n/)) {
    const match = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)\s*$/.exec(line);
    if (match?.[1] && match[2] !== undefined) entries[match[1]] = match[2].replace(/^"(.*)"$/, "$1");
  }
  return entries;
}

export function writeEnvFile(path: string, values: Readonly<Record<string, string>>, header: string): void {
  const lines = Object.entries(values).map(([key, value]) => `${key}=${value}`);
  writeFileSync(path, `# ${header}\n${lines.join("\n")}\n`, { mode: 0o600 });
  // `mode` applies only when the file is created; one left readable by an older version holds the JWT secret.
  chmodSync(path, 0o600);
}
