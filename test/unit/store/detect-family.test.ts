import { cp, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppError } from '../../../src/errors.js';
import { findSystemEspeakNgData, recognizeModel } from '../../../src/store/detect-family.js';
import { writeOnnx } from '../../helpers/onnx-builder.js';
import { missingModels, testModel, testModelsDir } from '../../helpers/models.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'murmur-recognize-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

type Meta = Record<string, string | number>;
/**
 * Builds a directory named like a real archive: `*.onnx` entries become tiny
 * ONNX files with the given metadata, names ending in '/' become folders, the
 * rest placeholder text files.
 */
const build = async (name: string, entries: Record<string, Meta | string>): Promise<string> => {
  const dir = join(root, name);
  await mkdir(dir, { recursive: true });
  for (const [entry, content] of Object.entries(entries)) {
    const path = join(dir, entry);
    if (entry.endsWith('/')) {
      await mkdir(path, { recursive: true });
      await writeFile(join(path, 'phontab'), 'placeholder');
    } else if (entry.endsWith('.onnx')) await writeOnnx(path, { metadata: typeof content === 'string' ? {} : content });
    else await writeFile(path, typeof content === 'string' ? content : JSON.stringify(content));
  }
  return dir;
};

const real = (...paths: string[]) => missingModels(...paths);

describe('recognizeModel on the shared real models', () => {
  it.skipIf(real('stories260K/stories260K.gguf'))('a GGUF file and its folder are llm/gguf', async () => {
    const file = testModel('stories260K/stories260K.gguf')!;
    const expected = {
      kind: 'llm', engine: 'llama-cpp', family: 'gguf', files: { model: 'stories260K.gguf' },
      metadata: { 'general.architecture': 'llama', 'general.name': 'llama', 'llama.context_length': '2048', 'llama.embedding_length': '64' },
    };
    expect(await recognizeModel(file)).toEqual(expected);
    expect(await recognizeModel(join(testModelsDir(), 'stories260K'))).toEqual(expected);
  });

  it.skipIf(real('tts-synthetic/piper-style/model.onnx'))('piper-style is vits, with espeak-ng-data from the folder or the system', async () => {
    const dir = join(testModelsDir(), 'tts-synthetic/piper-style');
    const system = findSystemEspeakNgData();
    if (system) {
      const layout = await recognizeModel(dir);
      expect(layout).toMatchObject({ kind: 'tts', engine: 'sherpa-onnx', family: 'vits', sampleRate: 16000 });
      expect(layout.files).toEqual({ model: 'model.onnx', tokens: 'tokens.txt', dataDir: system });
      expect(isAbsolute(layout.files.dataDir!)).toBe(true);
      expect(layout.metadata).toMatchObject({ comment: 'piper', model_type: 'vits' });
    } else {
      await expect(recognizeModel(dir)).rejects.toThrow(/espeak-ng-data/);
    }
    const copy = join(root, 'piper-copy');
    await cp(dir, copy, { recursive: true });
    await mkdir(join(copy, 'espeak-ng-data'));
    expect((await recognizeModel(copy)).files).toEqual({ model: 'model.onnx', tokens: 'tokens.txt', dataDir: 'espeak-ng-data' });
  });

  it.skipIf(real('tts-synthetic/characters-style/model.onnx'))('characters-style is vits with no dataDir', async () => {
    const layout = await recognizeModel(join(testModelsDir(), 'tts-synthetic/characters-style'));
    expect(layout).toMatchObject({ kind: 'tts', family: 'vits', sampleRate: 16000, files: { model: 'model.onnx', tokens: 'tokens.txt' } });
    expect(layout.files).not.toHaveProperty('dataDir');
  });

  it.skipIf(real('yesno-tdnn-ctc/model.onnx'))('yesno is tdnn at 8 kHz', async () => {
    const layout = await recognizeModel(join(testModelsDir(), 'yesno-tdnn-ctc'));
    expect(layout).toMatchObject({ kind: 'asr', engine: 'sherpa-onnx', family: 'tdnn', sampleRate: 8000, files: { model: 'model.onnx', tokens: 'tokens.txt' } });
    await expect(recognizeModel(join(testModelsDir(), 'yesno-tdnn-ctc'), { kind: 'tts' })).rejects.toMatchObject({ code: 'not_supported' });
  });

  it.skipIf(real('silero-vad/silero_vad.onnx'))('a single silero_vad.onnx is silero-vad', async () => {
    expect(await recognizeModel(testModel('silero-vad/silero_vad.onnx')!)).toEqual({
      kind: 'vad',
      engine: 'sherpa-onnx',
      family: 'silero-vad',
      files: { model: 'silero_vad.onnx' },
      sampleRate: 16000,
    });
  });

  it.skipIf(real('yesno-tdnn-ctc/model.onnx'))('a truncated copy of a real model is not_supported, naming the file', async () => {
    const dir = join(root, 'yesno-truncated');
    await mkdir(dir);
    const bytes = await readFile(testModel('yesno-tdnn-ctc/model.onnx')!);
    await writeFile(join(dir, 'model.onnx'), bytes.subarray(0, 30_000));
    await writeFile(join(dir, 'tokens.txt'), '<blk> 0\nSIL 1\nN 2\nY 3\n');
    await expect(recognizeModel(dir)).rejects.toThrow(/model\.onnx is not a readable ONNX model/);
  });
});

describe('recognizeModel on archive layouts (catalog-sources.md §3–5)', () => {
  it('kokoro-en-v0_19', async () => {
    const dir = await build('kokoro-en-v0_19', {
      'model.onnx': { model_type: 'kokoro', sample_rate: 24000 },
      'voices.bin': 'x', 'tokens.txt': 'x', 'espeak-ng-data/': '', LICENSE: 'x', 'README.md': 'x',
    });
    const layout = await recognizeModel(dir);
    expect(layout).toMatchObject({ kind: 'tts', family: 'kokoro', sampleRate: 24000 });
    expect(layout.files).toEqual({ model: 'model.onnx', voices: 'voices.bin', tokens: 'tokens.txt', dataDir: 'espeak-ng-data' });
  });

  it('kokoro-multi-lang-v1_0 with its lexicons, dict and rule FSTs, preferring int8', async () => {
    const dir = await build('kokoro-multi-lang-v1_0', {
      'model.onnx': { model_type: 'kokoro', sample_rate: 24000 }, 'model.int8.onnx': { model_type: 'kokoro', sample_rate: 24000 },
      'voices.bin': 'x', 'tokens.txt': 'x', 'espeak-ng-data/': '', 'dict/': '',
      'lexicon-us-en.txt': 'x', 'lexicon-gb-en.txt': 'x', 'lexicon-zh.txt': 'x',
      'date-zh.fst': 'x', 'number-zh.fst': 'x', 'phone-zh.fst': 'x', LICENSE: 'x', 'README.md': 'x',
    });
    expect((await recognizeModel(dir)).files).toEqual({
      model: 'model.int8.onnx', voices: 'voices.bin', tokens: 'tokens.txt', dataDir: 'espeak-ng-data',
      lexicon: 'lexicon-us-en.txt,lexicon-zh.txt', dictDir: 'dict', ruleFsts: 'phone-zh.fst,date-zh.fst,number-zh.fst',
    });
  });

  it('kitten-nano-en-v0_1-fp16', async () => {
    const dir = await build('kitten-nano-en-v0_1-fp16', {
      'model.fp16.onnx': { model_type: 'kitten-tts', sample_rate: 24000, n_speakers: 8 },
      'voices.bin': 'x', 'tokens.txt': 'x', 'espeak-ng-data/': '', LICENSE: 'x', 'README.md': 'x',
    });
    const layout = await recognizeModel(dir);
    expect(layout).toMatchObject({ kind: 'tts', family: 'kitten', sampleRate: 24000 });
    expect(layout.files).toEqual({ model: 'model.fp16.onnx', voices: 'voices.bin', tokens: 'tokens.txt', dataDir: 'espeak-ng-data' });
  });

  it('matcha-icefall-en_US-ljspeech with its vocoder', async () => {
    const dir = await build('matcha-icefall-en_US-ljspeech', {
      'model-steps-3.onnx': { model_type: 'matcha-tts', sample_rate: 22050 }, 'vocos-22khz-univ.onnx': {},
      'tokens.txt': 'x', 'espeak-ng-data/': '', 'README.md': 'x',
    });
    const layout = await recognizeModel(dir);
    expect(layout).toMatchObject({ kind: 'tts', family: 'matcha', sampleRate: 22050 });
    expect(layout.files).toEqual({ acousticModel: 'model-steps-3.onnx', vocoder: 'vocos-22khz-univ.onnx', tokens: 'tokens.txt', dataDir: 'espeak-ng-data' });
  });

  it('a Piper voice and a lexicon-based Chinese Piper voice', async () => {
    const piper = await build('vits-piper-en_US-amy-low', {
      'en_US-amy-low.onnx': { model_type: 'vits', comment: 'piper', sample_rate: 16000 }, 'en_US-amy-low.onnx.json': '{}',
      'tokens.txt': 'x', MODEL_CARD: 'x', 'espeak-ng-data/': '',
    });
    expect(await recognizeModel(piper)).toMatchObject({ family: 'vits', sampleRate: 16000, files: { model: 'en_US-amy-low.onnx', tokens: 'tokens.txt', dataDir: 'espeak-ng-data' } });
    const zh = await build('vits-piper-zh_CN-xiao_ya-medium', {
      'zh_CN-xiao_ya-medium.onnx': { model_type: 'vits', comment: 'piper', sample_rate: 22050 },
      'tokens.txt': 'x', 'lexicon.txt': 'x', 'phone.fst': 'x', 'date.fst': 'x', 'number.fst': 'x',
    });
    expect((await recognizeModel(zh)).files).toEqual({ model: 'zh_CN-xiao_ya-medium.onnx', tokens: 'tokens.txt', lexicon: 'lexicon.txt', ruleFsts: 'phone.fst,date.fst,number.fst' });
  });

  it('whisper tiny.en with fp32+int8 pairs, and turbo int8-only', async () => {
    const m = { model_type: 'whisper-tiny.en' };
    const tiny = await build('sherpa-onnx-whisper-tiny.en', {
      'tiny.en-encoder.onnx': m, 'tiny.en-decoder.onnx': m, 'tiny.en-encoder.int8.onnx': m, 'tiny.en-decoder.int8.onnx': m,
      'tiny.en-tokens.txt': 'x', 'test_wavs/': '',
    });
    expect(await recognizeModel(tiny)).toMatchObject({
      kind: 'asr', family: 'whisper', sampleRate: 16000,
      files: { encoder: 'tiny.en-encoder.int8.onnx', decoder: 'tiny.en-decoder.int8.onnx', tokens: 'tiny.en-tokens.txt' },
    });
    const turbo = await build('sherpa-onnx-whisper-turbo', { 'turbo-encoder.int8.onnx': {}, 'turbo-decoder.int8.onnx': {}, 'turbo-tokens.txt': 'x' });
    expect((await recognizeModel(turbo)).files).toEqual({ encoder: 'turbo-encoder.int8.onnx', decoder: 'turbo-decoder.int8.onnx', tokens: 'turbo-tokens.txt' });
  });

  it('moonshine v1 and v2', async () => {
    const v1 = await build('sherpa-onnx-moonshine-tiny-en-int8', {
      'preprocess.onnx': {}, 'encode.int8.onnx': {}, 'uncached_decode.int8.onnx': {}, 'cached_decode.int8.onnx': {},
      'tokens.txt': 'x', LICENSE: 'x', 'README.md': 'x', 'test_wavs/': '',
    });
    expect(await recognizeModel(v1)).toMatchObject({
      kind: 'asr', family: 'moonshine',
      files: { preprocessor: 'preprocess.onnx', encoder: 'encode.int8.onnx', uncachedDecoder: 'uncached_decode.int8.onnx', cachedDecoder: 'cached_decode.int8.onnx', tokens: 'tokens.txt' },
    });
    const v2 = await build('sherpa-onnx-moonshine-tiny-en-quantized-2026-02-27', {
      'encoder_model.ort': 'ort', 'decoder_model_merged.ort': 'ort', 'tokens.txt': 'x', LICENSE: 'x', 'test_wavs/': '',
    });
    expect(await recognizeModel(v2)).toMatchObject({
      family: 'moonshine-v2', files: { encoder: 'encoder_model.ort', mergedDecoder: 'decoder_model_merged.ort', tokens: 'tokens.txt' },
    });
  });

  it('sense-voice, paraformer, nemo-ctc and zipformer-ctc from model_type metadata', async () => {
    const cases: [string, Meta, string][] = [
      ['sherpa-onnx-sense-voice-zh-en-ja-ko-yue-2024-07-17', { model_type: 'sense_voice_ctc', lang_zh: 3 }, 'sense-voice'],
      ['sherpa-onnx-paraformer-en-2024-03-09', { model_type: 'paraformer', lfr_window_size: 7 }, 'paraformer'],
      ['sherpa-onnx-nemo-ctc-en-citrinet-512', { model_type: 'EncDecCTCModelBPE' }, 'nemo-ctc'],
      ['sherpa-onnx-zipformer-ctc-en', { model_type: 'zipformer2_ctc' }, 'zipformer-ctc'],
    ];
    for (const [name, meta, family] of cases) {
      const dir = await build(name, { 'model.onnx': meta, 'model.int8.onnx': meta, 'tokens.txt': 'x', 'test_wavs/': '' });
      expect(await recognizeModel(dir)).toMatchObject({ kind: 'asr', family, sampleRate: 16000, files: { model: 'model.int8.onnx', tokens: 'tokens.txt' } });
    }
  });

  it('parakeet tdt int8 is nemo-transducer; the same names with icefall metadata are transducer', async () => {
    const files = (meta: Meta) => ({ 'encoder.int8.onnx': meta, 'decoder.int8.onnx': {}, 'joiner.int8.onnx': {}, 'tokens.txt': 'x', 'test_wavs/': '' });
    const transducerFiles = { encoder: 'encoder.int8.onnx', decoder: 'decoder.int8.onnx', joiner: 'joiner.int8.onnx', tokens: 'tokens.txt' };
    const nemo = await build('asr-a', files({ model_type: 'EncDecRNNTBPEModel', model_author: 'NeMo', vocab_size: 1025 }));
    expect(await recognizeModel(nemo)).toMatchObject({ kind: 'asr', family: 'nemo-transducer', sampleRate: 16000, files: transducerFiles });
    const icefall = await build('asr-b', files({ model_type: 'zipformer2', comment: 'non-streaming zipformer2' }));
    expect(await recognizeModel(icefall)).toMatchObject({ family: 'transducer', files: transducerFiles });
    expect(await recognizeModel(icefall, { family: 'nemo-transducer' })).toMatchObject({ family: 'nemo-transducer' });
  });

  it('streaming zipformers (chunked names, or streaming metadata) and a non-streaming one', async () => {
    const s = 'epoch-99-avg-1-chunk-16-left-128';
    const streaming = await build('sherpa-onnx-streaming-zipformer-en-2023-06-26', {
      [`encoder-${s}.onnx`]: { model_type: 'zipformer2' }, [`encoder-${s}.int8.onnx`]: { model_type: 'zipformer2' },
      [`decoder-${s}.onnx`]: {}, [`decoder-${s}.int8.onnx`]: {}, [`joiner-${s}.onnx`]: {}, [`joiner-${s}.int8.onnx`]: {},
      'tokens.txt': 'x', 'bpe.model': 'x', 'test_wavs/': '',
    });
    expect(await recognizeModel(streaming)).toMatchObject({
      family: 'streaming-transducer',
      // int8 encoder and joiner, full-precision decoder: the pairing sherpa-onnx ships and runs.
      files: { encoder: `encoder-${s}.int8.onnx`, decoder: `decoder-${s}.onnx`, joiner: `joiner-${s}.int8.onnx`, tokens: 'tokens.txt' },
    });
    const small = await build('asr-c', {
      'encoder-epoch-99-avg-1.onnx': { model_type: 'zipformer', decode_chunk_len: 32, T: 39 },
      'decoder-epoch-99-avg-1.onnx': {}, 'joiner-epoch-99-avg-1.onnx': {}, 'tokens.txt': 'x',
    });
    expect(await recognizeModel(small)).toMatchObject({ family: 'streaming-transducer', files: { encoder: 'encoder-epoch-99-avg-1.onnx' } });
    const offline = await build('sherpa-onnx-zipformer-en-2023-04-01', {
      'encoder-epoch-99-avg-1.int8.onnx': { model_type: 'zipformer2' }, 'decoder-epoch-99-avg-1.onnx': {}, 'joiner-epoch-99-avg-1.int8.onnx': {}, 'tokens.txt': 'x',
    });
    expect(await recognizeModel(offline)).toMatchObject({
      family: 'transducer',
      files: { encoder: 'encoder-epoch-99-avg-1.int8.onnx', decoder: 'decoder-epoch-99-avg-1.onnx', joiner: 'joiner-epoch-99-avg-1.int8.onnx' },
    });
  });

  it('the streaming 20M release as it unpacks: its own folder, fp32 and int8 of each part, test_wavs; the vocabulary from the decoder', async () => {
    const encoder = { model_type: 'zipformer', version: '1', decode_chunk_len: 32, T: 39, comment: 'streaming zipformer' };
    const decoder = { vocab_size: 500, context_size: 2 };
    const release = join(root, 'streaming-20m');
    await build('streaming-20m/sherpa-onnx-streaming-zipformer-en-20M-2023-02-17', {
      'encoder-epoch-99-avg-1.onnx': encoder, 'encoder-epoch-99-avg-1.int8.onnx': encoder,
      'decoder-epoch-99-avg-1.onnx': decoder, 'decoder-epoch-99-avg-1.int8.onnx': decoder,
      'joiner-epoch-99-avg-1.onnx': {}, 'joiner-epoch-99-avg-1.int8.onnx': {},
      'tokens.txt': 'x', 'README.md': 'x', 'export-onnx-en-20M.sh': 'x', 'test_wavs/': '',
    });
    const top = 'sherpa-onnx-streaming-zipformer-en-20M-2023-02-17';
    expect(await recognizeModel(release)).toMatchObject({
      kind: 'asr', engine: 'sherpa-onnx', family: 'streaming-transducer', sampleRate: 16000,
      files: { encoder: `${top}/encoder-epoch-99-avg-1.int8.onnx`, decoder: `${top}/decoder-epoch-99-avg-1.onnx`, joiner: `${top}/joiner-epoch-99-avg-1.int8.onnx`, tokens: `${top}/tokens.txt` },
      metadata: { model_type: 'zipformer', T: '39', vocab_size: '500', context_size: '2' },
    });
    // The catalog names the family: the same layout.
    expect(await recognizeModel(release, { family: 'streaming-transducer', kind: 'asr' })).toMatchObject({ family: 'streaming-transducer', files: { decoder: `${top}/decoder-epoch-99-avg-1.onnx` } });
    // Only int8 decoders shipped: that one.
    const int8 = await build('streaming-int8', { 'encoder.int8.onnx': encoder, 'decoder.int8.onnx': decoder, 'joiner.int8.onnx': {}, 'tokens.txt': 'x' });
    expect(await recognizeModel(int8)).toMatchObject({ family: 'streaming-transducer', files: { decoder: 'decoder.int8.onnx' } });
  });

  it('a streaming transducer without its joiner is no model (not whisper)', async () => {
    const dir = await build('streaming-nojoiner', { 'encoder-epoch-99-avg-1.onnx': { model_type: 'zipformer', decode_chunk_len: 32, T: 39 }, 'decoder-epoch-99-avg-1.onnx': {}, 'tokens.txt': 'x' });
    const error = (await recognizeModel(dir).catch((e: unknown) => e)) as AppError;
    expect(error.code).toBe('not_supported');
    expect(error.message).toMatch(/joiner/);
  });

  it('ten-vad (a folder with fp32 + int8) and silero int8', async () => {
    const ten = await build('ten-vad', { 'ten-vad.onnx': {}, 'ten-vad.int8.onnx': {} });
    expect(await recognizeModel(ten)).toEqual({ kind: 'vad', engine: 'sherpa-onnx', family: 'ten-vad', files: { model: 'ten-vad.int8.onnx' }, sampleRate: 16000 });
    const silero = await build('silero', { 'silero_vad.int8.onnx': {}, 'silero_vad.onnx': {} });
    expect((await recognizeModel(join(silero, 'silero_vad.onnx'))).files).toEqual({ model: 'silero_vad.onnx' });
    expect((await recognizeModel(silero)).files).toEqual({ model: 'silero_vad.int8.onnx' });
  });

  it('looks inside a folder that holds only the unpacked archive folder', async () => {
    const inner = await build('outer/sherpa-onnx-whisper-base.en', { 'base.en-encoder.int8.onnx': {}, 'base.en-decoder.int8.onnx': {}, 'base.en-tokens.txt': 'x' });
    expect(inner).toContain('outer');
    expect((await recognizeModel(join(root, 'outer'))).files).toEqual({
      encoder: 'sherpa-onnx-whisper-base.en/base.en-encoder.int8.onnx',
      decoder: 'sherpa-onnx-whisper-base.en/base.en-decoder.int8.onnx',
      tokens: 'sherpa-onnx-whisper-base.en/base.en-tokens.txt',
    });
  });
});

describe('recognizeModel errors', () => {
  it('an empty folder says it is empty', async () => {
    const dir = await build('empty', {});
    await expect(recognizeModel(dir)).rejects.toMatchObject({ code: 'not_supported', message: expect.stringMatching(/empty/) });
  });

  it('a folder of unrelated files lists them and the layouts tried', async () => {
    const dir = await build('unrelated', { 'notes.txt': 'x', 'photo.jpg': 'x', 'data.bin': 'x' });
    const error = await recognizeModel(dir).then(
      () => expect.fail('recognized a folder of unrelated files'),
      (e: unknown) => e as AppError,
    );
    expect(error.code).toBe('not_supported');
    expect(error.message).toMatch(/data\.bin, notes\.txt, photo\.jpg/);
    expect(error.message).toMatch(/gguf \(needs a \.gguf file\).*whisper.*kokoro\/kitten \(needs model\.onnx, voices\.bin and tokens\.txt\)/s);
    expect(error.hint).toMatch(/catalog/);
  });

  it('a garbage .onnx, alone or with tokens, is not_supported', async () => {
    const dir = join(root, 'garbage');
    await mkdir(dir);
    await writeFile(join(dir, 'model.onnx'), 'GARBAGE '.repeat(100));
    await writeFile(join(dir, 'silero_vad.onnx'), 'not a model');
    await expect(recognizeModel(join(dir, 'silero_vad.onnx'))).rejects.toThrow(/silero_vad\.onnx is not a readable ONNX/);
    await writeFile(join(dir, 'tokens.txt'), 'a 0');
    await expect(recognizeModel(dir)).rejects.toMatchObject({ code: 'not_supported', message: expect.stringMatching(/model\.onnx, silero_vad\.onnx, tokens\.txt/) });
  });

  it('a model.onnx + tokens.txt without a model_type cannot be told apart', async () => {
    const dir = await build('ambiguous', { 'model.onnx': {}, 'tokens.txt': 'x' });
    await expect(recognizeModel(dir)).rejects.toThrow(/no model_type metadata/);
    expect(await recognizeModel(dir, { family: 'paraformer' })).toMatchObject({ family: 'paraformer', kind: 'asr' });
  });

  it('a family hint that does not fit names the missing files', async () => {
    const dir = await build('hint-piper', { 'voice.onnx': { model_type: 'vits', comment: 'piper' }, 'tokens.txt': 'x', 'espeak-ng-data/': '' });
    expect(await recognizeModel(dir, { family: 'vits' })).toMatchObject({ family: 'vits' });
    await expect(recognizeModel(dir, { family: 'kokoro' })).rejects.toThrow(/not a complete kokoro model: it needs .*voices\.bin/);
    await expect(recognizeModel(dir, { family: 'whisper' })).rejects.toMatchObject({ code: 'not_supported' });
  });
});
