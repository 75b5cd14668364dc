import type { ModelInfo, ModelKind } from '../../types/models.js';
import type { DeepPartial } from './wire.js';

/*
 * `GET /v1/models` and `GET /v1/models/{id}`, both ways: a model entry
 * (id = murmur's store name; murmur adds `kind`) and the list of them, and
 * an entry read back as far as OpenAI's shape tells (RemoteRuntime against
 * a server without murmur's admin routes).
 */

export interface ModelEntry {
  readonly id: string;
  readonly object: 'model';
  /** Unix seconds: when the model was pulled. */
  readonly created: number;
  readonly owned_by: string;
  readonly kind?: string;
  /** murmur's: why the daemon refuses the model (its engine crashed too often), until it is pulled again. */
  readonly broken?: string;
}

export interface ModelList {
  readonly object: 'list';
  readonly data: readonly ModelEntry[];
}

/** What the server knows of an installed model that an entry shows. */
export interface ModelSummary {
  readonly name: string;
  /** ISO time of the pull. */
  readonly pulledAt?: string;
  readonly kind?: string;
  readonly broken?: string;
  /** The upstreams it runs on, when routed. */
  readonly upstream?: string;
}

/** A `model` entry of `/v1/models`. */
export const toModelEntry = (model: ModelSummary): ModelEntry => ({
  id: model.name,
  object: 'model',
  created: Math.floor((Date.parse(model.pulledAt ?? '') || 0) / 1000),
  // Where it runs: here, or the upstreams it is routed to.
  owned_by: model.upstream ?? 'murmur',
  ...(model.kind ? { kind: model.kind } : {}),
  ...(model.broken ? { broken: model.broken } : {}),
});

export const toModelList = (models: readonly ModelSummary[]): ModelList => ({ object: 'list', data: models.map(toModelEntry) });

/**
 * An entry as far as OpenAI's shape tells (name, kind, when): nothing about
 * files or engines is made up. A server that does not say the kind serves a
 * language model.
 */
export const fromModelEntry = (entry: DeepPartial<ModelEntry>): ModelInfo => ({
  name: entry.id ?? '',
  kind: (entry.kind as ModelKind | undefined) ?? 'llm',
  pulledAt: new Date((entry.created ?? 0) * 1000).toISOString(),
});

/** The entries of a `list`. */
export const fromModelList = (body: DeepPartial<ModelList>): ReturnType<typeof fromModelEntry>[] => (body.data ?? []).map(fromModelEntry);
