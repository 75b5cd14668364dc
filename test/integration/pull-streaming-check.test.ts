import { mkdtempSync, rmSync, truncateSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createCatalog } from '../../src/catalog/catalog.js';
import { loadConfig } from '../../src/config.js';
import { AppError } from '../../src/errors.js';
import { createStore } from '../../src/store/store.js';
import { checkStreamingTransducer } from '../../src/store/streaming-check.js';
import { writeStreamingTransducer, type StreamingModelOptions } from '../helpers/streaming-transducer.js';

/*
 * sherpa-onnx's OnlineRecognizer exits the process (code 255) when a
 * streaming transducer's encoder or decoder lacks a metadata key it reads,
 * segfaults on an encoder of no known model_type, and aborts on a tokens
 * file it cannot parse or an ONNX file that does not load. So a streaming
 * transducer is checked when it is pulled, and refused with the store left
 * as it was. The model is the synthetic zipformer of
 * test/helpers/streaming-transducer.ts, laid out as the real
 * sherpa-onnx-streaming-zipformer-en-20M-2023-02-17 archive unpacks (no
 * native code runs here).
 */

const TOP = 'sherpa-onnx-streaming-zipformer-en-20M-2023-02-17';
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const temp = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
};

/** The archive's folder: fp32 and int8 of each part, tokens.txt, a README and the export script. */
const release = async (options: StreamingModelOptions = {}) => {
  const dir = temp('murmur-streaming-src-');
  const files = await writeStreamingTransducer(join(dir, TOP), { int8: true, ...options });
  writeFileSync(join(dir, TOP, 'README.md'), 'streaming zipformer\n');
  writeFileSync(join(dir, TOP, 'export-onnx-en-20M.sh'), '#!/bin/sh\n');
  return { dir, files };
};

const store = () => createStore(loadConfig({ MURMUR_HOME: temp('murmur-streaming-home-') }), createCatalog());

describe('pulling a streaming transducer', () => {
  it('installs the release layout: int8 encoder and joiner, fp32 decoder, the vocabulary from the decoder', async () => {
    const s = store();
    const model = await s.pull((await release()).dir, { name: 'zipformer' });
    expect(model).toMatchObject({
      kind: 'asr',
      engine: 'sherpa-onnx',
      family: 'streaming-transducer',
      sampleRate: 16000,
      layout: {
        encoder: `${TOP}/encoder-epoch-99-avg-1.int8.onnx`,
        decoder: `${TOP}/decoder-epoch-99-avg-1.onnx`,
        joiner: `${TOP}/joiner-epoch-99-avg-1.int8.onnx`,
        tokens: `${TOP}/tokens.txt`,
      },
    });
    expect((await s.list()).map((m) => m.name)).toEqual(['zipformer']);
  });

  it.each<[string, StreamingModelOptions, RegExp]>([
    ['an encoder without T', { encoderMetadata: { T: null } }, /encoder-epoch-99-avg-1\.int8\.onnx lacks the metadata T that a zipformer encoder needs/],
    ['an encoder without model_type', { encoderMetadata: { model_type: null } }, /has no model_type/],
    ['an encoder of an unknown model_type', { encoderMetadata: { model_type: 'zipformer9' } }, /is a 'zipformer9' model \(sherpa-onnx runs zipformer, zipformer2, lstm, conformer, ebranchformer\)/],
    ['an encoder list that is not numbers', { encoderMetadata: { encoder_dims: '384,abc' } }, /not a whole number \(encoder_dims="384,abc"\)/],
    ['a decoder without vocab_size', { decoderMetadata: { vocab_size: null } }, /decoder-epoch-99-avg-1\.onnx lacks the metadata vocab_size/],
    ['a decoder without context_size', { decoderMetadata: { context_size: null } }, /lacks the metadata context_size/],
    ['a tokens file that is not one', { tokens: 'hello world again\n' }, /not a tokens file: line 1 is not "SYMBOL ID"/],
    ["token ids past the decoder's vocabulary", { tokens: '<blk> 0\n▁ONE 1\n▁TWO 9\n' }, /id 9, but the model's vocabulary has 6 entries/],
  ])('refuses %s', async (_name, options, message) => {
    const s = store();
    const error = await s.pull((await release(options)).dir, { name: 'bad' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'model_invalid' });
    expect((error as Error).message).toMatch(message);
    expect(await s.list()).toEqual([]);
  });

  it('refuses a truncated joiner (onnxruntime would abort loading it)', async () => {
    const { dir, files } = await release();
    truncateSync(files.joiner.replace(/\.onnx$/, '.int8.onnx'), 40);
    const s = store();
    const error = await s.pull(dir, { name: 'bad' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'model_invalid', message: expect.stringMatching(/joiner-epoch-99-avg-1\.int8\.onnx is not a readable ONNX model/) });
    expect(await s.list()).toEqual([]);
  });

  it('refuses a release without its joiner, naming it', async () => {
    const { dir, files } = await release();
    for (const f of [files.joiner, files.joiner.replace(/\.onnx$/, '.int8.onnx')]) unlinkSync(f);
    const error = await store().pull(dir, { name: 'bad' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'not_supported', message: expect.stringMatching(/joiner/) });
  });

  it("checks against the catalog's modelType when it names one (sherpa-onnx then ignores the encoder's)", async () => {
    const { dir } = await release({ encoderMetadata: { model_type: null } });
    const files = { encoder: `${TOP}/encoder-epoch-99-avg-1.onnx`, decoder: `${TOP}/decoder-epoch-99-avg-1.onnx`, joiner: `${TOP}/joiner-epoch-99-avg-1.onnx`, tokens: `${TOP}/tokens.txt` };
    await expect(checkStreamingTransducer(dir, files)).rejects.toThrow(/no model_type/);
    await expect(checkStreamingTransducer(dir, files, 'zipformer')).resolves.toBeUndefined();
    await expect(checkStreamingTransducer(dir, files, 'zipformer2')).rejects.toThrow(/lacks the metadata query_head_dims, value_head_dims, num_heads that a zipformer2 encoder needs/);
  });
});
