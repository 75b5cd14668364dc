import type { Config } from '../config.js';
import { allowedLanguages, checkLanguage } from '../engines/speech/asr-languages.js';
import type { AsrHandle, VadHandle } from '../engines/speech/asr-types.js';
import { AppError } from '../errors.js';
import type { InstalledModel, Store } from '../store/types.js';
import type { LocalRuntime } from './local-runtime.js';
import { defaultModelOf, resolveSpeechModel, type SpeechModelDeps } from './speech-models.js';
import { AUTO_VAD_SECONDS, runTranscription, WINDOW_SECONDS, type PipelineAudio, type VadMode } from './transcribe.js';
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
 * both loaded handles. With `vad` absent ('auto'), audio whose length the
 * container gives as AUTO_VAD_SECONDS (30 s) or less is decoded whole and
 * the VAD model is not even loaded: the pipeline would not use it. One
 * threshold for every family, because without a VAD every family is fed the
 * same 30 s windows (whisper's encoder takes exactly 30 s; the transducers,
 * paraformer and SenseVoice decode 30 s in one offline pass comfortably), so
 * such audio is one decode either way.
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
      const run = (vad?: VadHandle, opened?: PipelineAudio) =>
        runTranscription({
          asr,
          vad,
          vadMode,
          model: model.name,
          family: model.family,
          modelLanguage: modelLanguage(model),
          // Without a VAD the audio is cut into fixed windows: read it a window at a time, so no window is assembled by copying.
          open: opened ? async () => opened : () => open(request.input, request.signal, vad ? 1 : WINDOW_SECONDS),
          request,
          threads: deps.config.threads,
          waitedMs,
        });
      if (!vadName) return run();
      if (vadMode === 'on') return deps.use<VadHandle, TranscribeResult>(vadName, ['vad'], 'detect speech', (vad) => run(vad), request.signal);
      // 'auto': the audio is opened first (once: stdin cannot be read twice), and short audio goes on without loading the VAD.
      const audio = await open(request.input, request.signal, 1);
      let handed = false;
      try {
        if (audio.duration !== undefined && audio.duration <= AUTO_VAD_SECONDS) {
          handed = true;
          return await run(undefined, audio);
        }
        return await deps.use<VadHandle, TranscribeResult>(
          vadName,
          ['vad'],
          'detect speech',
          (vad) => {
            handed = true;
            return run(vad, audio);
          },
          request.signal,
        );
      } finally {
        if (!handed) await audio.close();
      }
    },
    request.signal,
  );
};
