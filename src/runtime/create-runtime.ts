import type { Catalog } from '../catalog/catalog.js';
import type { Config } from '../config.js';
import { createLocalRuntime, type LocalRuntime, type LocalRuntimeDeps } from './local-runtime.js';

export interface CreateRuntimeDeps extends Partial<LocalRuntimeDeps> {
  /** The catalog; loaded from models.json (plus MURMUR_CATALOG) when absent. */
  readonly catalog?: Catalog;
}

/**
 * Wires the in-process runtime: catalog, store, model manager and engines.
 * Tests replace any part through `deps`; nothing native loads until a model
 * is first used.
 */
export const createRuntime = async (config: Config, deps: CreateRuntimeDeps = {}): Promise<LocalRuntime> => {
  const { loadCatalog } = await import('../catalog/catalog.js');
  // One parse per runtime: the store and the runtime's defaults share it.
  const catalog = deps.catalog ?? (await loadCatalog({ userPath: config.catalog }));
  let store = deps.store;
  if (!store) {
    const { createStore } = await import('../store/store.js');
    store = createStore(config, catalog);
  }
  return createLocalRuntime(config, { ...deps, catalog, store });
};
