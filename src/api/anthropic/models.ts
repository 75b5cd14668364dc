import type { ModelInfo } from '../../types/models.js';

/*
 * Anthropic's Models API shape, for `GET /v1/models` and `/v1/models/{id}`
 * asked by Anthropic's clients (they send `anthropic-version`): the chat
 * models, each with its id, a display name and when it was pulled.
 */

export interface AnthropicModel {
  readonly type: 'model';
  readonly id: string;
  readonly display_name: string;
  readonly created_at: string;
}

export const toAnthropicModel = (model: Pick<ModelInfo, 'name' | 'pulledAt' | 'description'>): AnthropicModel => ({
  type: 'model',
  id: model.name,
  display_name: model.name,
  created_at: model.pulledAt ?? new Date(0).toISOString(),
});

/** The whole list as one page: murmur's lists are short. */
export const toAnthropicModelList = (models: readonly ModelInfo[]) => {
  const data = models.filter((m) => m.kind === 'llm').map(toAnthropicModel);
  return { data, has_more: false, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null };
};
