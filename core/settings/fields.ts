import type { SettingsType } from "./model";

/**
 * The known keys of each settings type as data: schemas.ts builds the zod schemas from them, the
 * defaults are their `default`s (the seed's example values), and README's schema table lists them.
 * Keys not listed here are kept as they are when they are scalars (an existing bot's extra params).
 */
export type FieldSpec =
  | { readonly kind: "number"; readonly min: number; readonly minExclusive?: boolean; readonly max: number; readonly default: number }
  | { readonly kind: "integer"; readonly min: number; readonly max: number; readonly default: number }
  | { readonly kind: "boolean"; readonly default: boolean }
  | { readonly kind: "enum"; readonly values: readonly string[]; readonly default: string; readonly legacy?: Readonly<Record<string, string>> }
  | { readonly kind: "instrument"; readonly default: string };

export const timeframes = ["1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "12h", "1d"] as const;

/** Instrument ids such as `BTC-USDT-SWAP`, `ETH-USDT`, `BTC-USD-251226`. */
export const INSTRUMENT_ID = /^[A-Z0-9]{1,20}-[A-Z0-9]{1,20}(?:-[A-Z0-9]{1,20})?$/;

/** `direction` as the legacy bots wrote and read it (Korean), and as it is stored and answered. */
export const legacyDirections: Readonly<Record<string, string>> = { 롱숏: "long_short", 롱: "long", 숏: "short" };

const positive = (max: number, value: number): FieldSpec => ({ kind: "number", min: 0, minExclusive: true, max, default: value });
const percent = (value: number): FieldSpec => ({ kind: "number", min: 0, max: 100, default: value });
const int = (min: number, max: number, value: number): FieldSpec => ({ kind: "integer", min, max, default: value });
const flag = (value: boolean): FieldSpec => ({ kind: "boolean", default: value });
const oneOf = (values: readonly string[], value: string): FieldSpec => ({ kind: "enum", values, default: value });

const preferences: Readonly<Record<string, FieldSpec>> = {
  timeframe: oneOf(timeframes, "1m"),
  symbol: { kind: "instrument", default: "BTC-USDT-SWAP" },
};

const MAX_AMOUNT = 1_000_000_000;

const params: Readonly<Record<string, FieldSpec>> = {
  // sizing
  btc_investment: positive(MAX_AMOUNT, 20),
  eth_investment: positive(MAX_AMOUNT, 20),
  sol_investment: positive(MAX_AMOUNT, 20),
  investment: positive(MAX_AMOUNT, 20),
  leverage: int(1, 125, 10),
  margin_mode: oneOf(["cross", "isolated"], "cross"),
  order_type: oneOf(["market", "limit"], "market"),
  max_open_positions: int(1, 100, 3),
  // entry
  direction: { kind: "enum", values: ["long_short", "long", "short"], default: "long_short", legacy: legacyDirections },
  entry_option: oneOf(["cross", "over", "reversal"], "cross"),
  rsi_length: int(2, 200, 14),
  rsi_oversold: percent(30),
  rsi_overbought: percent(70),
  use_trend_logic: flag(true),
  trend_timeframe: oneOf(timeframes, "1h"),
  use_trend_close: flag(true),
  use_cooldown: flag(true),
  cooldown_time: int(0, 86_400, 300),
  // take profit
  tp_option: oneOf(["percent", "atr", "price"], "percent"),
  use_tp1: flag(true),
  use_tp2: flag(true),
  use_tp3: flag(true),
  tp1_value: positive(1_000, 2.0),
  tp2_value: positive(1_000, 3.0),
  tp3_value: positive(1_000, 4.0),
  tp1_ratio: percent(30),
  tp2_ratio: percent(30),
  tp3_ratio: percent(40),
  // stop loss and break-even
  use_sl: flag(true),
  sl_option: oneOf(["percent", "atr", "price"], "percent"),
  sl_value: positive(100, 5.0),
  use_sl_on_last: flag(false),
  use_break_even: flag(true),
  use_break_even_tp2: flag(false),
  use_break_even_tp3: flag(false),
  // pyramiding (DCA)
  pyramiding_limit: int(0, 100, 4),
  pyramiding_type: oneOf(["fixed", "multiplier"], "fixed"),
  pyramiding_entry_type: oneOf(["percent", "atr", "price"], "percent"),
  pyramiding_value: positive(100, 3.0),
  entry_multiplier: positive(10, 0.5),
  entry_criterion: oneOf(["average", "first_entry"], "average"),
  use_check_dca_with_price: flag(true),
  use_rsi_with_pyramiding: flag(true),
  // trailing stop
  use_trailing_stop: flag(false),
  trailing_stop_type: oneOf(["fixed", "tp_based"], "fixed"),
  trailing_start_point: oneOf(["tp1", "tp2", "tp3"], "tp3"),
  trailing_stop_offset_value: positive(100, 0.5),
  use_trailing_stop_value_with_tp2_tp3_difference: flag(false),
  // guards
  max_daily_loss_percent: percent(0),
  use_telegram_alerts: flag(true),
};

const dualSide: Readonly<Record<string, FieldSpec>> = {
  use_dual_side_entry: flag(false),
  dual_side_entry_trigger: int(1, 100, 3),
  dual_side_entry_ratio_type: oneOf(["percent_of_position", "fixed_amount"], "percent_of_position"),
  dual_side_entry_ratio_value: positive(MAX_AMOUNT, 30),
  dual_side_entry_tp_trigger_type: oneOf(["percent", "last_dca_on_position", "existing_position", "do_not_close"], "percent"),
  dual_side_entry_tp_value: positive(1_000, 1.0),
  dual_side_entry_sl_trigger_type: oneOf(["percent", "existing_position"], "percent"),
  dual_side_entry_sl_value: positive(100, 5.0),
  dual_side_pyramiding_limit: int(0, 100, 1),
  activate_tp_sl_after_all_dca: flag(false),
  dual_side_trend_close: flag(false),
  close_main_on_hedge_tp: flag(false),
  use_dual_sl: flag(false),
};

export const knownFields: Readonly<Record<SettingsType, Readonly<Record<string, FieldSpec>>>> = {
  preferences,
  params,
  dual_side: dualSide,
};

/** The cross-field rules, in words (README; schemas.ts enforces them). */
export const crossFieldRules: Readonly<Record<SettingsType, readonly string[]>> = {
  preferences: [],
  params: [
    "rsi_oversold < rsi_overbought",
    "tp1_value < tp2_value < tp3_value (among those present)",
    "tp1_ratio + tp2_ratio + tp3_ratio <= 100",
  ],
  dual_side: ["dual_side_entry_ratio_value <= 100 when dual_side_entry_ratio_type is percent_of_position"],
};
