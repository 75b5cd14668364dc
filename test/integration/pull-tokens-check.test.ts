import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createCatalog } from '../../src/catalog/catalog.js';
import { loadConfig } from '../../src/config.js';
import { AppError } from '../../src/errors.js';
import { createStore } from '../../src/store/store.js';
import { missingModels, testModel } from '../helpers/models.js';

/*
 * A tokens file sherpa-onnx cannot read aborts the whole process at first
 * use (exit 255), and an empty one hangs every synthesis: such models are
 * refused when they are pulled, with the store left as it was.
 */

const VOICE = 'tts-synthetic/characters-style/model.onnx';
const YESNO = 'yesno-tdnn-ctc/model.onnx';
const skip = missingModels(VOICE, YESNO);
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A copy of a shared model folder with its tokens.txt replaced. */
const withTokens = (model: string, tokens: string | Buffer) => {
  const dir = mkdtempSync(join(tmpdir(), 'murmur-tokens-'));
  dirs.push(dir);
  cpSync(dirname(testModel(model)!), dir, { recursive: true, filter: (src) => !src.includes('test_wavs') });
  writeFileSync(join(dir, 'tokens.txt'), tokens);
  return dir;
};

describe.skipIf(skip)(`pulling a model with a bad tokens file${skip ? ` (skipped: ${skip})` : ''}`, () => {
  const store = () => {
    const home = mkdtempSync(join(tmpdir(), 'murmur-tokens-home-'));
    dirs.push(home);
    return createStore(loadConfig({ MURMUR_HOME: home }), createCatalog());
  };

  it.each([
    ['garbage bytes', Buffer.from([0xff, 0xfe, 0x00, 0x13, 0x37, 0xc3, 0x28]), /not UTF-8/],
    ['lines without ids', 'hello world again\nthis is not a tokens file\n', /line 1 is not "SYMBOL ID"/],
    ['an empty file', '', /empty/],
    ['a repeated id', 'a 0\nb 1\nc 1\n', /id 1 appears twice/],
  ])('refuses %s', async (_name, tokens, message) => {
    const s = store();
    const error = await s.pull(withTokens(VOICE, tokens), { name: 'bad-voice' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({ code: 'model_invalid' });
    expect((error as Error).message).toMatch(message);
    expect(await s.list()).toEqual([]);
  });

  it("refuses ids past the model's vocabulary, and takes the real files", async () => {
    const s = store();
    const error = await s.pull(withTokens(YESNO, '<blk> 0\nSIL 1\nN 2\nY 7\n'), { name: 'bad-asr' }).catch((e: unknown) => e);
    expect((error as Error).message).toMatch(/id 7, but the model's vocabulary has 4 entries/);
    expect((await s.pull(dirname(testModel(YESNO)!), { name: 'yesno' })).name).toBe('yesno');
    expect((await s.pull(dirname(testModel(VOICE)!), { name: 'voice' })).name).toBe('voice');
  });
});
