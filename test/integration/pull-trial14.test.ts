import { spawnSync } from 'node:child_process';
import { copyFileSync, cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { builtBin } from '../helpers/daemon.js';
import { missingModels, testModel } from '../helpers/models.js';
import { unreachable } from '../../src/store/import-errors.js';
import { UnreachableError } from '../../src/store/mirror.js';

const GGUF = 'stories260K/stories260K.gguf';
const YESNO = 'yesno-tdnn-ctc';
const VOICE = 'tts-synthetic/piper-style';

const home = () => ({ MURMUR_HOME: mkdtempSync(join(tmpdir(), 'murmur-t14-')), MURMUR_HOST: 'http://127.0.0.1:9' });
const widest = (text: string) => Math.max(...text.trimEnd().split('\n').map((l) => l.length));

describe.skipIf(missingModels(GGUF))('a linked model whose file has gone', () => {
  it('ls marks it, show says where it pointed and exits 1, pull --link NEWPATH links it again', async () => {
    const e = home();
    const dir = mkdtempSync(join(tmpdir(), 'murmur-t14-link-'));
    const first = join(dir, 'mv.gguf');
    copyFileSync(testModel(GGUF)!, first);
    expect((await runCli(['pull', '--link', first, '--name', 'mv'], e)).code).toBe(0);
    const moved = join(dir, 'mv2.gguf');
    renameSync(first, moved);

    expect((await runCli(['ls'], e)).stdout).toMatch(/^mv\s+llm\s+\S+ MB \(linked, missing\)/m);
    expect(JSON.parse((await runCli(['ls', '--json'], e)).stdout)[0]).toMatchObject({ name: 'mv', linked: first, missing: true });
    for (const args of [['show', 'mv'], ['show', 'mv', '--json']]) {
      const shown = await runCli(args, e);
      expect(shown.code).toBe(1);
      expect(shown.stdout).toBe('');
      expect(shown.stderr).toContain(`'mv' is linked to ${first}, which is no longer there.`);
      expect(shown.stderr).toContain('murmur pull --force --link PATH --name mv');
      expect(shown.stderr).not.toContain('ENOENT');
    }

    const relinked = await runCli(['pull', '--link', moved, '--name', 'mv'], e);
    expect(relinked.code).toBe(0);
    expect(relinked.stderr).toContain(`mv was linked to ${first}; it is linked to ${moved} now.`);
    expect((await runCli(['ls'], e)).stdout).toMatch(/^mv\s+llm\s+\S+ MB \(linked\)\s/m);
    expect((await runCli(['show', 'mv'], e)).code).toBe(0);
  });
});

describe.skipIf(missingModels(GGUF))('pull --json', () => {
  it('names the model as ls --json does (name, and model kept)', async () => {
    const e = home();
    const result = await runCli(['pull', testModel(GGUF)!, '--name', 'tiny', '--json'], e);
    expect(JSON.parse(result.stdout)).toMatchObject({ status: 'success', name: 'tiny', model: 'tiny', reused: false, kind: 'llm' });
  });

  it('prints a failure as a JSON error object on stdout too, one per model of several', async () => {
    const e = home();
    const one = await runCli(['pull', 'no-such-model', '--json'], e);
    expect(one.code).toBe(1);
    expect(JSON.parse(one.stdout)).toEqual({ error: { message: "Unknown model 'no-such-model'.", hint: expect.any(String), code: 'model_not_found' } });
    expect(one.stderr).toContain("murmur: Unknown model 'no-such-model'.");

    const several = await runCli(['pull', testModel(GGUF)!, 'no-such-model', '--json'], e);
    expect(several.code).toBe(1);
    const lines = several.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ status: 'success', name: 'stories260k' });
    expect(lines[1]).toMatchObject({ error: { code: 'model_not_found', model: 'no-such-model' } });

    const usage = await runCli(['pull', 'a', 'b', '--name', 'x', '--json'], e);
    expect(usage.code).toBe(2);
    expect(JSON.parse(usage.stdout)).toMatchObject({ error: { code: 'usage' } });
  });
});

describe.skipIf(missingModels(YESNO, 'silero-vad/silero_vad.onnx', GGUF))('a name the catalog also uses', () => {
  it('warns once at pull, and ls --all marks the installed model as the default, not the catalog entry', async () => {
    const e = home();
    const yesno = await runCli(['pull', testModel(YESNO)!, '--name', 'yesno'], e);
    expect(yesno.code).toBe(0);
    expect(yesno.stderr).toContain("murmur: 'yesno' is also the catalog's name for tdnn-yesno; the installed model now answers to it.");
    const vad = await runCli(['pull', testModel('silero-vad/silero_vad.onnx')!, '--name', 'vad'], e);
    expect(vad.stderr.match(/also the catalog's name for silero-vad/g)).toHaveLength(1);
    // A name no catalog entry uses: no warning.
    expect((await runCli(['pull', testModel(GGUF)!, '--name', 'tiny'], e)).stderr).not.toContain("catalog's name");

    const rows = JSON.parse((await runCli(['ls', '--all', '--json'], e)).stdout) as { name: string; default: string[]; installed: boolean }[];
    const row = (name: string) => rows.find((r) => r.name === name)!;
    expect(row('tdnn-yesno')).toMatchObject({ installed: false, default: [] });
    expect(row('yesno')).toMatchObject({ installed: true, default: ['asr'] });
    expect(row('silero-vad')).toMatchObject({ installed: false, default: [] });
    expect(row('vad')).toMatchObject({ installed: true, default: ['vad'] });
  });
});

describe.skipIf(missingModels(VOICE))('show of an imported voice', () => {
  it('lists its voice, speaker count, language and sample rate from what the import recorded', async () => {
    const e = home();
    expect((await runCli(['pull', testModel(VOICE)!, '--name', 'voice'], e)).code).toBe(0);
    const shown = await runCli(['show', 'voice'], e);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^voices: +speaker-0$/m);
    expect(shown.stdout).toMatch(/^speakers: +1$/m);
    expect(shown.stdout).toMatch(/^languages: +English$/m);
    expect(shown.stdout).toMatch(/^sample rate: +16000 Hz$/m);
    expect(JSON.parse((await runCli(['show', 'voice', '--json'], e)).stdout)).toMatchObject({ speakerCount: 1, languages: ['English'], sampleRate: 16000 });
  });
});

describe('ls --all on a terminal that reports no size', () => {
  it('fits COLUMNS=80, keeping the aliases and dropping the description', async () => {
    const e = { ...home(), COLUMNS: '80' };
    const result = await runCli(['ls', '--all'], e, { tty: true, columns: 0 });
    expect(result.code).toBe(0);
    expect(widest(result.stdout)).toBeLessThanOrEqual(80);
    expect(result.stdout.split('\n')[0]).toMatch(/^NAME\s+KIND\s+SIZE\s+INSTALLED\s+DEFAULT\s+ALIASES$/);
    // Whole aliases only: the first that fits.
    expect(result.stdout).toMatch(/^qwen3-0\.6b\s+llm\s+639 MB\s+chat\s+qwen3$/m);
    expect(result.stdout).toMatch(/^whisper-tiny\.en\s+asr\s+116 MB\s+asr\s+whisper$/m);
    expect(result.stdout).toMatch(/^piper-en-us-amy-low\s+tts\s+\S+ MB\s+tts\s+piper$/m);
  });
});

describe.skipIf(missingModels(GGUF))('a file imported before', () => {
  it('is the model already imported from it: pull and chat of the path reuse it', { timeout: 120_000 }, async () => {
    const e = home();
    const dir = mkdtempSync(join(tmpdir(), 'murmur-t14-same-'));
    const file = join(dir, 'stories260K.gguf');
    copyFileSync(testModel(GGUF)!, file);
    expect((await runCli(['pull', file, '--name', 'tiny'], e)).code).toBe(0);
    const again = await runCli(['pull', file, '--json'], e);
    expect(JSON.parse(again.stdout)).toMatchObject({ name: 'tiny', reused: true });
    // The built CLI, as a user runs it (stdin closed).
    const chat = spawnSync(process.execPath, [builtBin, 'chat', file, 'hi', '--max-tokens', '2', '--local'], { env: { ...process.env, ...e }, input: '', encoding: 'utf8' });
    expect(chat.status, chat.stderr).toBe(0);
    expect(JSON.parse((await runCli(['ls', '--json'], e)).stdout).map((m: { name: string }) => m.name)).toEqual(['tiny']);
    // A file of another size at that path is another model.
    writeFileSync(file, Buffer.concat([readFileSync(testModel(GGUF)!), Buffer.alloc(16)]));
    expect((await runCli(['pull', file], e)).stdout).toBe('stories260k\n');
  });
});

describe.skipIf(missingModels(YESNO))('importing a sherpa-onnx folder', () => {
  it('copies the files its layout uses and its licence/readme files, not test_wavs/', async () => {
    const e = home();
    const source = mkdtempSync(join(tmpdir(), 'murmur-t14-yesno-'));
    cpSync(testModel(YESNO)!, source, { recursive: true });
    writeFileSync(join(source, 'README.md'), 'yesno\n');
    writeFileSync(join(source, 'notes.txt'), 'not used\n');
    expect(existsSync(join(source, 'test_wavs'))).toBe(true);
    const result = await runCli(['pull', source, '--name', 'yn', '--json'], e);
    expect(result.code).toBe(0);
    expect(readdirSync(join(e.MURMUR_HOME, 'models', 'yn')).sort()).toEqual(['README.md', 'model.onnx', 'murmur.json', 'tokens.txt']);
    const shown = JSON.parse((await runCli(['show', 'yn', '--json'], e)).stdout) as { files: { path: string }[] };
    expect(shown.files.map((f) => f.path).sort()).toEqual(['README.md', 'model.onnx', 'tokens.txt']);
  });
});

describe('offline pull advice for a pull the daemon does', () => {
  it("names MURMUR_MIRROR as the daemon's setting", async () => {
    const offline = new UnreachableError('huggingface.co', 'ENOTFOUND', undefined);
    const viaDaemon = (await unreachable(offline, 'qwen3-0.6b', false, true, async () => 0, true)) as { hint: string };
    expect(viaDaemon.hint).toContain('set MURMUR_MIRROR where `murmur serve` runs');
    const local = (await unreachable(offline, 'qwen3-0.6b', false, true, async () => 0)) as { hint: string };
    expect(local.hint).toContain('set MURMUR_MIRROR to a mirror');
    expect(local.hint).not.toContain('murmur serve');
  });
});
