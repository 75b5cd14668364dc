import type { Config } from '../config.js';
import { allowedLanguages, checkLanguage } from '../engines/speech/asr-languages.js';
import type { AsrHandle, VadHandle } from '../engines/speech/asr-types.js';
import { AppError } from '../errors.js';
import type { InstalledModel, Store } from '../store/types.js';
import type { LocalRuntime } from './local-runtime.js';
import { defaultModelOf, resolveSpeechModel, type SpeechModelDeps } from './speech-models.js';
import { runTranscription, WINDOW_SECONDS, type PipelineAudio, type VadMode } from './transcribe.js';
import type { TranscribeRequest, TranscribeResult } from '../types/transcript.js';

/** What the in-process transcribe needs from LocalRuntime. */
export interface TranscribeDeps extends SpeechModelDeps {
  readonly config: Config;
  readonly store: Pick<Store, 'list' | 'get' | 'require'>;
  readonly use: LocalRuntime['use'];
  /** Opens the audio; default src/audio/decode.ts's openAudioStream (tests may pass their own). */
  readonly open?: (input: TranscribeRequest['input'], signal?: AbortSignal, chunkSeconds?: number) => Promise<PipelineAudio>;
}

/**
 * The default VAD model when one is installed; else (when `required`) the
 * catalog default's name so the error that follows says to pull it;
 * undefined otherwise. (The asr model comes from resolveSpeechModel.)
 */
const defaultVad = async (deps: TranscribeDeps, required: boolean): Promise<string | undefined> => {
  const chosen = await defaultModelOf(deps, 'vad');
  if (chosen?.installed) return chosen.name;
  if (!required) return undefined;
  if (chosen) return chosen.name;
  throw new AppError('invalid_request', 'No voice-activity model is installed and the catalog names no default.', {
    hint: 'Run `murmur pull silero-vad`.',
    param: 'model',
  });
};

const openDecoded = async (input: TranscribeRequest['input'], _signal?: AbortSignal, chunkSeconds = 1): Promise<PipelineAudio> => {
  const { openAudioStream } = await import('../audio/decode.js');
  return openAudioStream(input, { chunkSeconds });
};

/** The one language a model transcribes (its configured language, or the only one it knows), if it has one. */
const modelLanguage = (model: InstalledModel): string | undefined => {
  const configured = model.options?.language;
  if (typeof configured === 'string' && configured && configured !== 'auto') return configured;
  const known = (allowedLanguages(model) ?? model.languages ?? []).filter((l) => l !== 'multi' && l !== 'auto');
  return known.length === 1 ? known[0] : undefined;
};

/** Checks the language and task against the model before any audio is read. */
const checkRequest = (asr: AsrHandle, model: InstalledModel, { task, language }: TranscribeRequest) => {
  checkLanguage(model, allowedLanguages(model), language);
  if (task === 'translate' && !asr.canTranslate) {
    throw new AppError('not_supported', `'${model.name}' cannot translate; only multilingual whisper models can.`, {
      param: 'model',
      hint: 'Use a multilingual whisper model such as whisper-tiny, or transcribe instead.',
    });
  }
};

/**
 * Transcribes in this process: resolves the asr model (the default when none
 * is named) and, unless VAD is off, a VAD model (`vad` true or absent: the
 * catalog's default VAD; a string: that model), then runs the pipeline on
 * both loaded handles.
 */
export const transcribeLocal = async (deps: TranscribeDeps, request: TranscribeRequest): Promise<TranscribeResult> => {
  const asrName = await resolveSpeechModel(deps, 'asr', request.model);
  const vadMode: VadMode = request.vad === false ? 'off' : request.vad === undefined ? 'auto' : 'on';
  const vadName = vadMode === 'off' ? undefined : typeof request.vad === 'string' ? request.vad : await defaultVad(deps, vadMode === 'on');
  const open = deps.open ?? openDecoded;
  return deps.use<AsrHandle, TranscribeResult>(
    asrName,
    ['asr'],
    'transcribe',
    async (asr, model, waitedMs) => {
      checkRequest(asr, model, request);
      const run = (vad?: VadHandle) =>
        runTranscription({
          asr,
          vad,
          vadMode,
          model: model.name,
          family: model.family,
          modelLanguage: modelLanguage(model),
          // Without a VAD the audio is cut into fixed windows: read it a window at a time, so no window is assembled by copying.
          open: () => open(request.input, request.signal, vad ? 1 : WINDOW_SECONDS),
          request,
          threads: deps.config.threads,
          waitedMs,
        });
      if (!vadName) return run();
      return deps.use<VadHandle, TranscribeResult>(vadName, ['vad'], 'detect speech', (vad) => run(vad), request.signal);
    },
    request.signal,
  );
};
