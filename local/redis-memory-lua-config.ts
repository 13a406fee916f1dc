/**
 * Redis' Lua (5.1) prints an integral number as an integer ("5"); fengari's (5.3) prints an integral
 * float as "5.0", and its integers are 32-bit, so Redis integers past 2^31 (millisecond times,
 * counters) reach scripts as floats and would print as "1764500000000.0" in `tostring` and `..`.
 * fengari's LUA_COMPAT_FLOATSTRING prints them as Redis does. fengari reads its configuration once,
 * from FENGARICONF, when first loaded: this module is imported before anything that loads fengari
 * (ioredis-mock does), and the Lua engine checks that it took effect.
 */
const given: unknown = process.env.FENGARICONF ? JSON.parse(process.env.FENGARICONF) : {};
process.env.FENGARICONF = JSON.stringify({ ...(typeof given === "object" ? given : {}), LUA_COMPAT_FLOATSTRING: true });
