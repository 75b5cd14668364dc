import { statSync } from 'node:fs';
import type { Config } from '../../config.js';
import { AppError, EngineLoadError } from '../../errors.js';
import type { InstalledModel } from '../../store/types.js';
import type { EngineLoadOptions } from '../types.js';
import type { SherpaSpeech, SherpaVad, SpeechSegment, VadHandle, VoiceDetector, VoiceDetectorSettings } from './asr-types.js';
import { loadSherpa } from './sherpa.js';

/** Silero and ten-vad take 16 kHz only. */
export const VAD_SAMPLE_RATE = 16_000;

/**
 * Settings for sherpa-onnx's Vad. A speech segment ends after 0.5 s of
 * silence (short pauses inside a sentence stay in it) and is cut at 20 s, so
 * every segment fits a recognizer's 30 s window with room to spare.
 */
export type VadSettings = VoiceDetectorSettings;

export const DEFAULT_VAD_SETTINGS: VadSettings = { threshold: 0.5, minSilenceDuration: 0.5, minSpeechDuration: 0.25, maxSpeechDuration: 20, padding: 0.5 };

const numberOption = (model: InstalledModel, key: string): number | undefined => {
  const value = model.options?.[key];
  return typeof value === 'number' ? value : undefined;
};

/**
 * The last stretch of the stream, so a segment can be cut with some audio
 * around it: VAD onsets land a little after the first sound, and recognizers
 * (CTC ones above all) want a little silence on each side.
 */
class History {
  private readonly ring: Float32Array;
  /** Samples written since the stream began. */
  total = 0;
  constructor(seconds: number) {
    this.ring = new Float32Array(Math.ceil(seconds * VAD_SAMPLE_RATE));
  }
  push(samples: Float32Array): void {
    const { ring } = this;
    const tail = samples.length > ring.length ? samples.subarray(samples.length - ring.length) : samples;
    const at = (this.total + samples.length - tail.length) % ring.length;
    const first = Math.min(tail.length, ring.length - at);
    ring.set(tail.subarray(0, first), at);
    ring.set(tail.subarray(first), 0);
    this.total += samples.length;
  }
  /** Samples [from, to) of the stream, clipped to what is still held, and the index of the first. */
  slice(from: number, to: number): { samples: Float32Array; start: number } {
    const start = Math.max(from, this.total - this.ring.length, 0);
    const end = Math.min(to, this.total);
    const out = new Float32Array(Math.max(0, end - start));
    for (let i = 0; i < out.length; i++) out[i] = this.ring[(start + i) % this.ring.length]!;
    return { samples: out, start };
  }
}

/**
 * Silero's speech probability decays slowly, so its segments run on for up
 * to ~0.8 s after the last word, and open up to ~0.4 s after the first
 * sound. The reported times are moved to where the sound is (10 ms frames
 * louder than a tenth of the segment's loudest, -20 dB), searching the padded
 * samples, and by at most `maxShift` seconds from what the VAD said. The
 * samples handed to the recognizer are not cut.
 */
const tighten = (samples: Float32Array, samplesStart: number, start: number, end: number, maxShift: number): { start: number; end: number } => {
  const frame = VAD_SAMPLE_RATE / 100;
  const rms: number[] = [];
  for (let i = 0; i + frame <= samples.length; i += frame) {
    let sum = 0;
    for (let j = i; j < i + frame; j++) sum += samples[j]! * samples[j]!;
    rms.push(Math.sqrt(sum / frame));
  }
  const floor = Math.max(...rms, 0) / 10;
  const first = rms.findIndex((r) => r > floor);
  if (first < 0) return { start, end };
  let last = rms.length - 1;
  while (last > first && rms[last]! <= floor) last--;
  const clamp = (value: number, around: number) => Math.min(around + maxShift, Math.max(around - maxShift, value));
  const tightStart = clamp(samplesStart + first / 100, start);
  return { start: tightStart, end: Math.max(tightStart + 0.01, clamp(samplesStart + (last + 1) / 100, end)) };
};

/** Segments of the detector's queue, with times in seconds of the stream and `padding` seconds of audio each side. */
const drain = (vad: SherpaVad, history: History, padding: number): SpeechSegment[] => {
  const out: SpeechSegment[] = [];
  const pad = Math.round(padding * VAD_SAMPLE_RATE);
  while (!vad.isEmpty()) {
    const { start, samples } = vad.front(false);
    const end = start + samples.length;
    const padded = history.slice(start - pad, end + pad);
    const whole = padded.samples.length >= samples.length;
    const samplesStart = (whole ? padded.start : start) / VAD_SAMPLE_RATE;
    const times = tighten(whole ? padded.samples : samples, samplesStart, start / VAD_SAMPLE_RATE, end / VAD_SAMPLE_RATE, 1);
    out.push({
      ...times,
      samples: whole ? padded.samples : samples,
      samplesStart,
    });
    vad.pop();
  }
  return out;
};

/** Loads a silero or ten-vad model; each `open()` makes an independent detector for one stream, with settings of its own. */
export const loadVad = async (config: Config, model: InstalledModel, _options?: EngineLoadOptions, defaults: VadSettings = DEFAULT_VAD_SETTINGS): Promise<VadHandle> => {
  if (model.family !== 'silero-vad' && model.family !== 'ten-vad') {
    throw new AppError('not_supported', `'${model.name}' is a ${model.family} model, not a silero-vad or ten-vad detector.`, { param: 'model' });
  }
  const sherpa = loadSherpa<SherpaSpeech>();
  const rel = model.layout.model;
  if (!rel) throw new EngineLoadError(`'${model.name}' has no model file in its layout.`, { hint: `Pull it again: \`murmur pull ${model.name} --force\`.` });
  const file = `${model.dir}/${rel}`;
  const key = model.family === 'silero-vad' ? 'sileroVad' : 'tenVad';
  const windowSize = numberOption(model, 'windowSize') ?? (model.family === 'ten-vad' ? 256 : 512);
  const make = (settings: VadSettings): SherpaVad => {
    const vadConfig = {
      [key]: {
        model: file,
        threshold: settings.threshold,
        minSilenceDuration: settings.minSilenceDuration,
        minSpeechDuration: settings.minSpeechDuration,
        maxSpeechDuration: settings.maxSpeechDuration,
        windowSize,
      },
      sampleRate: VAD_SAMPLE_RATE,
      numThreads: 1,
      debug: config.debug ? 1 : 0,
    };
    try {
      // The buffer holds the open segment: room for the longest one plus slack.
      return new sherpa.Vad(vadConfig, Math.ceil(settings.maxSpeechDuration) + 10);
    } catch (error) {
      throw new EngineLoadError(`sherpa-onnx could not load '${model.name}': ${(error as Error).message}`, { hint: `Pull it again: \`murmur pull ${model.name} --force\`.`, cause: error });
    }
  };
  // Load one now so a broken file fails at load time, not mid-request.
  make(defaults).reset();

  const open = (inputSampleRate: number, overrides: Partial<VadSettings> = {}): VoiceDetector => {
    const settings: VadSettings = { ...defaults, ...overrides };
    const vad = make(settings);
    const resampler = inputSampleRate === VAD_SAMPLE_RATE ? undefined : new sherpa.LinearResampler(inputSampleRate, VAD_SAMPLE_RATE);
    // Long enough to reach back before the longest segment's start.
    const history = new History(settings.maxSpeechDuration + settings.minSilenceDuration + 2 * settings.padding + 1);
    let closed = false;
    /** When the open segment was first detected, in samples of the stream (undefined while silent). */
    let detectedAt: number | undefined;
    // Fed one window at a time: sherpa-onnx dates a segment's start from where its
    // buffer ends when speech is detected, so a big chunk at once makes starts late.
    // Speech is noted the window it is first detected, dated back by the
    // shortest speech the detector waits for.
    const feed = (samples: Float32Array) => {
      const start = history.total;
      history.push(samples);
      for (let i = 0; i < samples.length; i += windowSize) {
        vad.acceptWaveform(samples.subarray(i, i + windowSize));
        if (detectedAt === undefined && vad.isDetected()) detectedAt = Math.max(0, start + i + windowSize - Math.round(settings.minSpeechDuration * VAD_SAMPLE_RATE));
      }
    };
    const update = (segments: SpeechSegment[]) => {
      const speaking = vad.isDetected();
      const since = detectedAt;
      if (!speaking) detectedAt = undefined;
      return { segments, speaking, ...(since !== undefined ? { speechStart: since / VAD_SAMPLE_RATE } : {}) };
    };
    return {
      async accept(samples) {
        if (closed) return [];
        feed(resampler ? resampler.resample(samples) : samples);
        return drain(vad, history, settings.padding);
      },
      async listen(samples) {
        if (closed) return { segments: [], speaking: false };
        feed(resampler ? resampler.resample(samples) : samples);
        return update(drain(vad, history, settings.padding));
      },
      async flush() {
        if (closed) return [];
        if (resampler) feed(resampler.flush(new Float32Array(0)));
        vad.flush();
        detectedAt = undefined;
        return drain(vad, history, settings.padding);
      },
      close() {
        closed = true;
        vad.reset();
      },
    };
  };

  let bytes = 0;
  try {
    bytes = statSync(file).size;
  } catch {
    bytes = model.size;
  }
  return {
    kind: 'vad',
    sampleRate: VAD_SAMPLE_RATE,
    // Weights plus a detector's buffers (about 4 MB each).
    stats: async () => ({ memoryBytes: bytes * 2 + 4_000_000 }),
    open,
    async dispose() {
      /* Each detector is freed by the GC with its stream. */
    },
  };
};
