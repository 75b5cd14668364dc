import { copyFileSync, cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createCatalog } from '../../src/catalog/catalog.js';
import { loadConfig } from '../../src/config.js';
import { createStore } from '../../src/store/store.js';
import { missingModels, testModel } from '../helpers/models.js';

/*
 * onnxruntime aborts the process on an ONNX file it cannot parse (an
 * uncaught Ort::Exception, exit 134), so pull refuses such files — and a
 * "Silero VAD" whose graph is not Silero's — before they are installed.
 */

const VOICE = 'tts-synthetic/piper-style/model.onnx';
const VAD = 'silero-vad/silero_vad.onnx';
const VAD_V4 = 'silero-vad/silero_vad_v4.onnx';
const skip = missingModels(VOICE, VAD, VAD_V4);
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const temp = (prefix: string) => {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  dirs.push(dir);
  return dir;
};
const store = () => createStore(loadConfig({ MURMUR_HOME: temp('murmur-onnx-home-') }), createCatalog());

describe.skipIf(skip)(`pulling models whose ONNX files are bad${skip ? ` (skipped: ${skip})` : ''}`, () => {
  it('refuses a voice whose model.onnx is garbage, naming the file', async () => {
    const dir = temp('murmur-onnx-');
    cpSync(dirname(testModel(VOICE)!), dir, { recursive: true });
    writeFileSync(join(dir, 'model.onnx'), Buffer.alloc(4096, 7));
    const s = store();
    const error = await s.pull(dir, { name: 'voice' }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'model_invalid', message: expect.stringMatching(/model\.onnx is not a readable ONNX model/) });
    expect(await s.list()).toEqual([]);
  });

  it('refuses a truncated VAD and one that is not a Silero graph, and takes both real Silero versions', async () => {
    const s = store();
    const cut = join(temp('murmur-onnx-'), 'silero_vad.onnx');
    const bytes = readFileSync(testModel(VAD)!);
    writeFileSync(cut, bytes.subarray(0, Math.floor(bytes.length * 0.6)));
    expect(await s.pull(cut, { name: 'cut' }).catch((e: unknown) => e)).toMatchObject({ code: 'model_invalid', message: expect.stringMatching(/truncated|past its end/) });

    // A real ONNX model under a VAD's name: it parses, but its inputs are a voice's.
    const impostor = join(temp('murmur-onnx-'), 'silero_vad.onnx');
    copyFileSync(testModel(VOICE)!, impostor);
    expect(await s.pull(impostor, { name: 'impostor' }).catch((e: unknown) => e)).toMatchObject({
      code: 'model_invalid',
      message: expect.stringMatching(/is not a Silero VAD graph \(its inputs are input, input_lengths, scales/),
    });
    expect(await s.list()).toEqual([]);

    expect((await s.pull(testModel(VAD)!, { name: 'vad' })).kind).toBe('vad');
    expect((await s.pull(testModel(VAD_V4)!, { name: 'vad4' })).kind).toBe('vad');
  });
});
