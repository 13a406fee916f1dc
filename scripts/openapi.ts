/** `npm run openapi [-- <path>]`: writes the OpenAPI 3.1 document of every route in sst.config.ts. */
import { writeFileSync } from "node:fs";
import { buildOpenApi } from "../local/openapi";
import { loadSstManifest } from "../local/sst-manifest";

const target = process.argv[2] ?? "openapi.json";
const document = await buildOpenApi((await loadSstManifest()).routes);
writeFileSync(target, `${JSON.stringify(document, null, 2)}\n`);
console.log(`wrote ${target}: ${Object.keys(document.paths as object).length} paths`);
