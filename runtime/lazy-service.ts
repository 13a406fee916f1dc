/** A port whose every method is async: its callers await anyway, so the call can first await a module. */
type AsyncPort<T> = { readonly [K in keyof T]: (...args: never[]) => Promise<unknown> };

/**
 * A port implemented by a module loaded on its first call (a dynamic `import()`, which a split
 * bundle ships as its own chunk): each method awaits the implementation, built once, then calls
 * through. `methods` names every method of the port (the type checks that none is missing), since
 * nothing of the implementation exists before its module loads. A failed load is not kept: the
 * next call tries again (Telegram redelivers the update that failed).
 */
export function lazyService<T extends AsyncPort<T>>(load: () => Promise<T>, methods: { readonly [K in keyof T]: true }): T {
  let loading: Promise<T> | undefined;
  const loaded = (): Promise<T> =>
    (loading ??= load().catch((error: unknown) => {
      loading = undefined;
      throw error;
    }));
  const service: Partial<Record<keyof T, unknown>> = {};
  for (const name of Object.keys(methods) as (keyof T)[]) {
    service[name] = async (...args: never[]) => {
      const target = await loaded();
      return (target[name] as (...args: never[]) => Promise<unknown>).apply(target, args);
    };
  }
  return service as T;
}
