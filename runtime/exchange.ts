import { exchangeConfigSchema } from "../core/config";
import { HttpOkxAccounts } from "../core/exchange/adapters/http-okx-accounts";
import type { ExchangeAccounts } from "../core/exchange/ports";
import { configFor, once } from "./config";
import { platform } from "./platform";

/** The exchange's account API of this container (OKX, at OKX_BASE_URL). */
export function exchangeAccounts(): ExchangeAccounts {
  return once(HttpOkxAccounts, () => {
    const config = configFor(exchangeConfigSchema);
    return new HttpOkxAccounts(
      { baseUrl: config.OKX_BASE_URL, timeoutMs: config.OKX_TIMEOUT_MS, simulatedTrading: config.OKX_SIMULATED_TRADING },
      platform().clock,
    );
  });
}
