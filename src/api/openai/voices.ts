import type { VoiceList } from '../../types/speech.js';
import type { DeepPartial } from './wire.js';

/*
 * murmur's `GET /v1/audio/voices` (OpenAI has no such list), both ways:
 * each speech model's voices and default voice, in OpenAI's `list` style.
 */

export interface VoiceListsBody {
  readonly object: 'list';
  readonly data: readonly { readonly model: string; readonly default_voice: string | null; readonly voices: VoiceList['voices'] }[];
}

export const toVoiceLists = (lists: readonly VoiceList[]): VoiceListsBody => ({
  object: 'list',
  data: lists.map((list) => ({ model: list.model, default_voice: list.defaultVoice ?? null, voices: list.voices })),
});

export const fromVoiceLists = (body: DeepPartial<VoiceListsBody>): VoiceList[] =>
  (body.data ?? []).map((list) => ({
    model: list.model ?? '',
    voices: (list.voices ?? []) as VoiceList['voices'],
    ...(list.default_voice ? { defaultVoice: list.default_voice } : {}),
  }));
