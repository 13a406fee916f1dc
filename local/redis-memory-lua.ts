// First: fengari reads its configuration when first loaded.
import "./redis-memory-lua-config";
import { createHash } from "node:crypto";
import { exists, hasFlag } from "@ioredis/commands";
import { lauxlib, lua, luaconf, lualib, to_luastring } from "fengari";
import type { LuaState } from "fengari";
import { RedisReplyError } from "./redis-backend";
import type { RawReply } from "./redis-backend";

/**
 * Lua scripting for the in-process engine, on fengari (Lua 5.3 in JavaScript). ioredis-mock has a
 * Lua bridge of its own, but it returns nothing for a table filled by index (`out[i] = ...`: its
 * array test expects lua_next to list keys in reverse order), hands `redis.call` replies to Lua as
 * JavaScript objects instead of Lua tables, knows no status replies (`redis.call("TYPE", k)["ok"]`),
 * no `redis.sha1hex` and bypasses the engine's Redis checks. This one converts between RESP and Lua values as Redis does, and runs each command
 * through the engine (synchronously: a script runs alone, as in Redis).
 */

/** Runs one command of a script through the engine, synchronously. */
export type ScriptCommandRunner = (name: string, args: string[]) => RawReply;

export interface LuaEngine {
  /** Compiles a script under its sha1 (kept until reset); the compile error otherwise. */
  compile(sha: string, source: string): RedisReplyError | undefined;
  /** Runs a script (compiled first if it is not); `readOnly` refuses write commands (EVAL_RO, `flags=no-writes`). */
  run(sha: string, source: string, keys: readonly string[], argv: readonly string[], readOnly: boolean): RawReply;
  /** SCRIPT FLUSH: forgets every compiled script. */
  reset(): void;
}

/** Commands whose string reply is a status reply (`{ok = ...}` in Lua), not a bulk string. */
const STATUS_REPLY_COMMANDS = new Set(["set", "setex", "psetex", "mset", "hmset", "type", "ping", "rename", "lset", "ltrim", "flushdb", "flushall", "restore", "swapdb"]);
/** Refused inside a script, whatever @ioredis/commands' table (older than Redis 7) says. */
const NOT_FROM_SCRIPTS = new Set(["eval", "evalsha", "eval_ro", "evalsha_ro", "script", "fcall", "fcall_ro", "function", "multi", "exec", "watch"]);

/** Globals read-only and unknown globals an error, as in Redis 7, so a script's typo fails here too. */
const PROTECT_GLOBALS = `unpack = table.unpack
setmetatable(_G, {
  __newindex = function() error("Attempt to modify a readonly table", 2) end,
  __index = function(_, name) error("Script attempted to access nonexistent global variable '" .. tostring(name) .. "'", 2) end,
})`;

export function createLuaEngine(runCommand: ScriptCommandRunner): LuaEngine {
  if (!luaconf.LUA_COMPAT_FLOATSTRING) throw new Error("in-process Redis engine: fengari was loaded before local/redis-memory-lua-config.ts");
  let state: LuaState | undefined;
  /** The scripts compiled in `state` (a new state after a reset has none). */
  let compiled = new Set<string>();
  let readOnly = false;
  const vm = (): LuaState => (state ??= newState((raise) => (L) => redisCall(L, raise, readOnly, runCommand)));
  const engine: LuaEngine = {
    compile(sha, source) {
      const L = vm();
      if (lauxlib.luaL_loadbuffer(L, to_luastring(source), null, "@user_script") !== lua.LUA_OK) {
        const message = lua.lua_tojsstring(L, -1) ?? "";
        lua.lua_settop(L, 0);
        return new RedisReplyError(`ERR Error compiling script (new function): ${message}`);
      }
      lua.lua_setfield(L, lua.LUA_REGISTRYINDEX, `f_${sha}`);
      compiled.add(sha);
      return undefined;
    },
    run(sha, source, keys, argv, asReadOnly) {
      const failed = compiled.has(sha) ? undefined : engine.compile(sha, source);
      if (failed) return failed;
      const L = vm();
      try {
        readOnly = asReadOnly;
        return runCompiled(L, sha, keys, argv);
      } catch (error) {
        // Not a Lua error (those come back from lua_pcall): the state may be inconsistent, start afresh.
        engine.reset();
        return new RedisReplyError(`ERR in-process engine: script failed: ${error instanceof Error ? error.message : String(error)}`);
      } finally {
        readOnly = false;
      }
    },
    reset() {
      if (state) lua.lua_close(state);
      state = undefined;
      compiled = new Set();
    },
  };
  return engine;
}

function runCompiled(L: LuaState, sha: string, keys: readonly string[], argv: readonly string[]): RawReply {
  lua.lua_settop(L, 0);
  lua.lua_getfield(L, lua.LUA_REGISTRYINDEX, `f_${sha}`);
  pushArray(L, keys);
  lua.lua_setglobal(L, "KEYS");
  pushArray(L, argv);
  lua.lua_setglobal(L, "ARGV");
  const status = lua.lua_pcall(L, 0, 1, 0);
  const reply = status === lua.LUA_OK ? popReply(L) : popRaised(L, sha);
  lua.lua_settop(L, 0);
  return reply;
}

type CallFactory = (raise: boolean) => (L: LuaState) => number;

/** A Lua state with the libraries Redis gives scripts (no io, os, package or debug) and the `redis` table. */
function newState(call: CallFactory): LuaState {
  const L = lauxlib.luaL_newstate();
  for (const [name, open] of [["_G", lualib.luaopen_base], ["table", lualib.luaopen_table], ["string", lualib.luaopen_string], ["math", lualib.luaopen_math]] as const) {
    lauxlib.luaL_requiref(L, name, open, 1);
    lua.lua_pop(L, 1);
  }
  lua.lua_createtable(L, 0, 12);
  lua.lua_pushjsfunction(L, call(true));
  lua.lua_setfield(L, -2, "call");
  lua.lua_pushjsfunction(L, call(false));
  lua.lua_setfield(L, -2, "pcall");
  lua.lua_pushjsfunction(L, sha1hex);
  lua.lua_setfield(L, -2, "sha1hex");
  lua.lua_pushjsfunction(L, (S) => replyTable(S, "err"));
  lua.lua_setfield(L, -2, "error_reply");
  lua.lua_pushjsfunction(L, (S) => replyTable(S, "ok"));
  lua.lua_setfield(L, -2, "status_reply");
  // No server log here; the levels exist so that scripts calling redis.log run unchanged.
  lua.lua_pushjsfunction(L, () => 0);
  lua.lua_setfield(L, -2, "log");
  ["LOG_DEBUG", "LOG_VERBOSE", "LOG_NOTICE", "LOG_WARNING"].forEach((level, i) => {
    lua.lua_pushinteger(L, i);
    lua.lua_setfield(L, -2, level);
  });
  lua.lua_setglobal(L, "redis");
  // KEYS and ARGV exist before the globals are locked; each run replaces them.
  for (const name of ["KEYS", "ARGV"]) {
    lua.lua_createtable(L, 0, 0);
    lua.lua_setglobal(L, name);
  }
  if (lauxlib.luaL_loadbuffer(L, to_luastring(PROTECT_GLOBALS), null, "=redis") !== lua.LUA_OK || lua.lua_pcall(L, 0, 0, 0) !== lua.LUA_OK) {
    throw new Error(`in-process Redis engine: Lua set-up failed: ${lua.lua_tojsstring(L, -1) ?? ""}`);
  }
  return L;
}

/**
 * redis.call / redis.pcall: the arguments as Redis reads them (strings, numbers as their shortest
 * text), the reply as a Lua value. A command error is raised by call and returned by pcall, as a
 * table {err = message}.
 */
function redisCall(L: LuaState, raise: boolean, readOnly: boolean, runCommand: ScriptCommandRunner): number {
  const args = commandArgs(L);
  let reply: RawReply;
  let status = false;
  if (args instanceof RedisReplyError) reply = args;
  else {
    const [name = "", ...rest] = args;
    const lower = name.toLowerCase();
    reply = refusal(lower, readOnly) ?? runSafely(runCommand, name, rest);
    status = STATUS_REPLY_COMMANDS.has(lower) && typeof reply === "string" && !(lower === "set" && rest.some((arg) => arg.toUpperCase() === "GET"));
  }
  lua.lua_settop(L, 0);
  if (status) pushStatus(L, String(reply));
  else pushReply(L, reply);
  if (raise && reply instanceof RedisReplyError) lua.lua_error(L);
  return 1;
}

function commandArgs(L: LuaState): string[] | RedisReplyError {
  const count = lua.lua_gettop(L);
  if (count === 0) return new RedisReplyError("ERR Please specify at least one argument for this redis lib call");
  const args: string[] = [];
  for (let i = 1; i <= count; i++) {
    const type = lua.lua_type(L, i);
    if (type === lua.LUA_TNUMBER) args.push(lua.lua_isinteger(L, i) ? String(lua.lua_tointeger(L, i)) : String(lua.lua_tonumber(L, i)));
    else if (type === lua.LUA_TSTRING) args.push(lua.lua_tojsstring(L, i) ?? "");
    else return new RedisReplyError("ERR Lua redis lib command arguments must be strings or integers");
  }
  return args;
}

function refusal(name: string, readOnly: boolean): RedisReplyError | undefined {
  // An unknown name is the engine's to answer ("unknown command"); the flag table knows only real ones.
  if (!exists(name)) return undefined;
  // Redis 7 refuses blocking commands in scripts too (XREAD only with BLOCK, which the engine has no script form of).
  const blocking = hasFlag(name, "blocking") && !name.startsWith("xread");
  if (NOT_FROM_SCRIPTS.has(name) || blocking || hasFlag(name, "noscript")) return new RedisReplyError("ERR This Redis command is not allowed from script");
  if (readOnly && hasFlag(name, "write")) return new RedisReplyError("ERR Write commands are not allowed from read-only scripts.");
  return undefined;
}

/** A JavaScript exception must not cross into Lua (it would unwind fengari's stack): it becomes an error reply. */
function runSafely(runCommand: ScriptCommandRunner, name: string, args: string[]): RawReply {
  try {
    return runCommand(name, args);
  } catch (error) {
    return new RedisReplyError(`ERR ${error instanceof Error ? error.message : String(error)}`);
  }
}

function sha1hex(L: LuaState): number {
  const text = lua.lua_type(L, 1) === lua.LUA_TNIL ? new Uint8Array() : lauxlib.luaL_tolstring(L, 1);
  lua.lua_settop(L, 0);
  lua.lua_pushstring(L, createHash("sha1").update(text).digest("hex"));
  return 1;
}

/** redis.error_reply(message) -> {err = message}, redis.status_reply(message) -> {ok = message}. */
function replyTable(L: LuaState, field: "err" | "ok"): number {
  const message = lua.lua_type(L, 1) === lua.LUA_TSTRING ? (lua.lua_tolstring(L, 1) ?? new Uint8Array()) : new Uint8Array();
  lua.lua_settop(L, 0);
  lua.lua_createtable(L, 0, 1);
  lua.lua_pushstring(L, message);
  lua.lua_setfield(L, -2, field);
  return 1;
}

function pushArray(L: LuaState, values: readonly string[]): void {
  lua.lua_createtable(L, values.length, 0);
  values.forEach((value, i) => {
    lua.lua_pushstring(L, value);
    lua.lua_rawseti(L, -2, i + 1);
  });
}

function pushStatus(L: LuaState, status: string): void {
  lua.lua_createtable(L, 0, 1);
  lua.lua_pushstring(L, status);
  lua.lua_setfield(L, -2, "ok");
}

/** RESP to Lua as Redis converts it: nil bulk and nil array -> false, errors -> {err = ...}, arrays -> tables. */
function pushReply(L: LuaState, reply: RawReply): void {
  if (reply === null) lua.lua_pushboolean(L, false);
  else if (typeof reply === "number") {
    // fengari's integers are 32-bit; larger ones travel as floats (integral, so they print the same in replies).
    if ((reply | 0) === reply) lua.lua_pushinteger(L, reply);
    else lua.lua_pushnumber(L, reply);
  } else if (typeof reply === "string" || Buffer.isBuffer(reply)) lua.lua_pushstring(L, reply);
  else if (reply instanceof RedisReplyError) {
    lua.lua_createtable(L, 0, 1);
    lua.lua_pushstring(L, reply.message);
    lua.lua_setfield(L, -2, "err");
  } else {
    lua.lua_createtable(L, reply.length, 0);
    reply.forEach((entry, i) => {
      pushReply(L, entry);
      lua.lua_rawseti(L, -2, i + 1);
    });
  }
}

/** Lua to RESP as Redis converts it (and pops the value): numbers truncated to integers, true -> 1, false -> nil. */
function popReply(L: LuaState): RawReply {
  const type = lua.lua_type(L, -1);
  let reply: RawReply = null;
  if (type === lua.LUA_TNUMBER) reply = Math.trunc(lua.lua_tonumber(L, -1));
  else if (type === lua.LUA_TSTRING) reply = Buffer.from(lua.lua_tolstring(L, -1) ?? new Uint8Array());
  else if (type === lua.LUA_TBOOLEAN) reply = lua.lua_toboolean(L, -1) ? 1 : null;
  else if (type === lua.LUA_TTABLE) reply = tableReply(L);
  lua.lua_pop(L, 1);
  return reply;
}

/** A table: {err = ...} is an error, {ok = ...} a status, anything else an array up to its first nil. */
function tableReply(L: LuaState): RawReply {
  for (const field of ["err", "ok"] as const) {
    const isString = lua.lua_getfield(L, -1, field) === lua.LUA_TSTRING;
    const text = isString ? (lua.lua_tojsstring(L, -1) ?? "") : "";
    lua.lua_pop(L, 1);
    if (isString) return field === "err" ? new RedisReplyError(text) : text;
  }
  const entries: RawReply[] = [];
  for (let i = 1; lua.lua_rawgeti(L, -1, i) !== lua.LUA_TNIL; i++) entries.push(popReply(L));
  lua.lua_pop(L, 1);
  return entries;
}

/** What a failed run raised: a command's error as Redis words it (with the script named), or a Lua error. */
function popRaised(L: LuaState, sha: string): RedisReplyError {
  const text = lua.lua_type(L, -1) === lua.LUA_TSTRING ? lua.lua_tojsstring(L, -1) : null;
  const raised = popReply(L);
  const message = raised instanceof RedisReplyError ? raised.message : `ERR ${text ?? "error object is not a string"}`;
  return new RedisReplyError(`${message} script: ${sha}`);
}
