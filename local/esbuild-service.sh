#!/bin/sh
# tsx's esbuild service for `npm start` (ESBUILD_BINARY_PATH in package.json), with SIGINT ignored.
# The terminal sends Ctrl-C to the whole process group, this child of node's included: esbuild died
# of it, and the TypeScript still loading could not compile (npm start then exited 1 instead of
# stopping cleanly). An ignored signal stays ignored through exec, and esbuild leaves it so; the
# service still ends as always, when node closes its stdin (node's exit, even a SIGKILL).
# The binary is the one Node resolves from tsx's folder: tsx's own esbuild, else the top-level one.
trap '' INT
root=$(CDPATH='' cd -- "$(dirname -- "$0")/.." && pwd)
for binary in "$root/node_modules/tsx/node_modules/esbuild/bin/esbuild" "$root/node_modules/esbuild/bin/esbuild"; do
  if [ -x "$binary" ]; then exec "$binary" "$@"; fi
done
echo "npm start: no esbuild binary under $root/node_modules (run npm install)" >&2
exit 1
