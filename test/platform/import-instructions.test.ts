import { describe, expect, it } from "vitest";
import { inclusiveOf } from "../../scripts/size/import-instructions";

// Lines shaped as `callgrind_annotate --inclusive=yes` prints them (two from a real listing, trimmed;
// the cycle line made up, as it lists one for recursive functions).
const listing = [
  "--------------------------------------------------------------------------------",
  "Ir                   file:function",
  "--------------------------------------------------------------------------------",
  "263,093,162 (100.0%)  PROGRAM TOTALS",
  "   73,764,857 (28.04%)  ???:node::loader::ModuleWrap::New(v8::FunctionCallbackInfo<v8::Value> const&) [/node]",
  "  912,118,000 (346.7%)  ???:v8::ScriptCompiler::CompileModule(v8::Isolate*, v8::ScriptCompiler::Source*)'2 [/node]",
  "   73,604,092 (27.98%)  ???:v8::ScriptCompiler::CompileModule(v8::Isolate*, v8::ScriptCompiler::Source*, v8::ScriptCompiler::CompileOptions) [/node]",
].join("\n");

describe("inclusiveOf (npm run import-instructions)", () => {
  it("reads a symbol's inclusive count, not that of its recursive cycle", () => {
    expect(inclusiveOf(listing, "v8::ScriptCompiler::CompileModule(")).toBe(73_604_092);
    expect(inclusiveOf(listing, "node::loader::ModuleWrap::New(")).toBe(73_764_857);
  });

  it("refuses to read a missing symbol as zero", () => {
    expect(() => inclusiveOf(listing, "node::loader::ModuleWrap::Evaluate(")).toThrow(/lists no node::loader::ModuleWrap::Evaluate/);
  });
});
