/**
 * The part of fengari (a Lua 5.3 VM in JavaScript, the one ioredis-mock runs) that the in-process
 * Redis engine's scripting uses; the package ships no type declarations. Names and semantics are
 * those of Lua's C API.
 */
declare module "fengari" {
  /** A Lua string: bytes. JavaScript strings are accepted where Lua takes a string, as UTF-8. */
  export type LuaString = Uint8Array;
  export interface LuaState {
    readonly __luaState: unique symbol;
  }
  /** A function Lua can call: reads its arguments from the stack, returns how many results it pushed. */
  export type LuaFunction = (L: LuaState) => number;

  export const lua: {
    readonly LUA_OK: number;
    readonly LUA_TNIL: number;
    readonly LUA_TBOOLEAN: number;
    readonly LUA_TNUMBER: number;
    readonly LUA_TSTRING: number;
    readonly LUA_TTABLE: number;
    readonly LUA_REGISTRYINDEX: number;
    lua_close(L: LuaState): void;
    lua_gettop(L: LuaState): number;
    lua_settop(L: LuaState, index: number): void;
    lua_pop(L: LuaState, count: number): void;
    lua_type(L: LuaState, index: number): number;
    lua_isinteger(L: LuaState, index: number): boolean;
    lua_tonumber(L: LuaState, index: number): number;
    lua_tointeger(L: LuaState, index: number): number;
    lua_toboolean(L: LuaState, index: number): boolean;
    lua_tolstring(L: LuaState, index: number): LuaString | null;
    lua_tojsstring(L: LuaState, index: number): string | null;
    lua_pushnil(L: LuaState): void;
    lua_pushboolean(L: LuaState, value: boolean): void;
    lua_pushinteger(L: LuaState, value: number): void;
    lua_pushnumber(L: LuaState, value: number): void;
    lua_pushstring(L: LuaState, value: LuaString | string): void;
    lua_pushjsfunction(L: LuaState, fn: LuaFunction): void;
    lua_pushvalue(L: LuaState, index: number): void;
    lua_createtable(L: LuaState, arraySize: number, recordSize: number): void;
    lua_rawseti(L: LuaState, index: number, n: number): void;
    lua_rawgeti(L: LuaState, index: number, n: number): number;
    lua_setfield(L: LuaState, index: number, key: LuaString | string): void;
    lua_getfield(L: LuaState, index: number, key: LuaString | string): number;
    lua_setglobal(L: LuaState, name: LuaString | string): void;
    lua_getglobal(L: LuaState, name: LuaString | string): number;
    lua_pcall(L: LuaState, nargs: number, nresults: number, messageHandler: number): number;
    /** Raises the value on top of the stack as a Lua error: never returns. */
    lua_error(L: LuaState): never;
  };

  /** The configuration fengari read from FENGARICONF when it was first loaded. */
  export const luaconf: {
    readonly LUA_COMPAT_FLOATSTRING: boolean;
  };

  export const lauxlib: {
    luaL_newstate(): LuaState;
    luaL_requiref(L: LuaState, name: LuaString | string, open: LuaFunction, global: number): void;
    luaL_loadbuffer(L: LuaState, code: LuaString, size: number | null, chunkName: LuaString | string): number;
    luaL_tolstring(L: LuaState, index: number): LuaString;
  };

  export const lualib: {
    luaopen_base: LuaFunction;
    luaopen_table: LuaFunction;
    luaopen_string: LuaFunction;
    luaopen_math: LuaFunction;
  };

  export function to_luastring(value: string): LuaString;
  export function to_jsstring(value: LuaString): string;
}
