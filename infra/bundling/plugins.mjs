/**
 * esbuild plugins of every function's bundle. infra/platform.ts's lambda() names this file in
 * `nodejs.plugins`, and scripts/size/bundle.ts (`npm run size`, and the bench's import-handler)
 * hands the same list to esbuild, so what is measured is what deploys.
 *
 * Plain JavaScript: SST 4 runs this file with plain `node` in a process of its own and forwards
 * each of esbuild's resolve and load calls to it (pkg/runtime/node/plugin.go). Its bridge tests a
 * plugin's `filter` against the string "undefined", not the import path, and ignores `namespace`:
 * the filters here match everything and the callbacks pick their paths themselves.
 */
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const NAMESPACE = "botstate-builtin";

/**
 * Node built-ins that an ESM `import` would make expensive at load, for no use on a cold start:
 * - `process`: sst/resource imports `env` from it. Linking Node's ESM facade of a built-in reads
 *   every property, and process's getters then create stdin and stdout and load process.report.
 * - `stream/web` and `timers`: @middy/core 6 imports ReadableStream (for streamed responses, which
 *   no function here uses) and setTimeout. Loading stream/web loads the web streams, and the
 *   facade of `timers` loads timers/promises.
 * - `fs`: sst/resource imports readFileSync (for its encrypted links file). Lambda's runtime has
 *   loaded `fs` before the handler, but the facade reads `fs.promises` and the rest, which loads
 *   eight more internal modules (fs/promises, fs/streams, fs/watchers, readline, ...): about 2 %
 *   of a Postgres-only function's import in instructions (npm run import-instructions).
 */
const DEFERRED = new Set(["process", "stream/web", "timers", "fs"]);

const builtinName = (path) => path.replace(/^node:/, "");

/**
 * Module source standing for the built-in `name`. For `process`, the global object itself (what
 * `require("process")` returns). For the others, one getter per export, each loading the built-in
 * with `require` (no ESM facade) the first time any of them is read. The names are those of the
 * built-in in the Node that bundles, which must know every name the libraries import (middy's
 * ReadableStream and setTimeout have been there since Node 18): esbuild does not check names
 * imported from CommonJS, and a missing one would read as undefined.
 */
function deferredSource(name) {
  if (name === "process") return "module.exports = globalThis.process;";
  return [
    `let loaded; const load = () => (loaded ??= require(${JSON.stringify(`node:${name}`)}));`,
    `for (const key of ${JSON.stringify(Object.keys(require(`node:${name}`)))})`,
    `  Object.defineProperty(exports, key, { enumerable: true, get: () => load()[key] });`,
  ].join("\n");
}

/**
 * Resolves the built-ins in DEFERRED to deferredSource's modules (CommonJS, so esbuild reads an
 * imported name as a property at each use, not at load); every other import is left to esbuild.
 *
 * @type {import("esbuild").Plugin}
 */
export const deferredBuiltins = {
  name: "deferred-builtins",
  setup(build) {
    build.onResolve({ filter: /.*/ }, (args) =>
      args.namespace !== NAMESPACE && DEFERRED.has(builtinName(args.path)) ? { path: builtinName(args.path), namespace: NAMESPACE } : undefined,
    );
    build.onLoad({ filter: /.*/ }, (args) => (args.namespace === NAMESPACE ? { contents: deferredSource(args.path), loader: "js" } : undefined));
  },
};

/** @type {import("esbuild").Plugin[]} */
export default [deferredBuiltins];
