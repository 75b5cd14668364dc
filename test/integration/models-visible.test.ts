import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { missingModels, testModel } from '../helpers/models.js';
import { verbs } from '../../commands/verbs.js';

const GGUF = 'stories260K/stories260K.gguf';
const home = () => ({ MURMUR_HOME: mkdtempSync(join(tmpdir(), 'murmur-visible-')) });

/** A GGUF file that is only a header (no tensors), with the metadata given: enough for the store and `show`. */
const writeGguf = (path: string, metadata: Record<string, string | number>): string => {
  const parts: Buffer[] = [];
  const u32 = (n: number) => { const b = Buffer.alloc(4); b.writeUInt32LE(n); return b; };
  const u64 = (n: number) => { const b = Buffer.alloc(8); b.writeBigUInt64LE(BigInt(n)); return b; };
  const str = (s: string) => Buffer.concat([u64(Buffer.byteLength(s)), Buffer.from(s)]);
  parts.push(Buffer.from('GGUF'), u32(3), u64(0), u64(Object.keys(metadata).length));
  for (const [key, value] of Object.entries(metadata)) {
    parts.push(str(key), ...(typeof value === 'string' ? [u32(8), str(value)] : [u32(4), u32(value)]));
  }
  writeFileSync(path, Buffer.concat(parts));
  return path;
};

const widest = (text: string) => Math.max(...text.trimEnd().split('\n').map((l) => l.length));

describe('murmur ls --all', () => {
  it('fits a 100-column terminal, marks the defaults and shows download sizes', async () => {
    const e = home();
    const tty = await runCli(['ls', '--all'], e, { tty: true });
    expect(tty.code).toBe(0);
    expect(widest(tty.stdout)).toBeLessThanOrEqual(100);
    // The aliases (the short names README uses) outlast the description.
    expect(tty.stdout.split('\n')[0]).toMatch(/^NAME\s+KIND\s+SIZE\s+INSTALLED\s+DEFAULT\s+ALIASES$/);
    expect(tty.stdout).toMatch(/^qwen3-0\.6b\s+llm\s+639 MB\s+chat\s+qwen3, qwen$/m);
    expect(tty.stdout).toMatch(/^whisper-tiny\.en\s+asr\s+116 MB\s+asr\s+whisper\b/m);
    expect(tty.stdout).toMatch(/^piper-en-us-amy-low\s+tts\s+\S+ MB\s+tts\s+piper, amy$/m);
  });

  it('prints whole rows, aliases included, when not a terminal or with --wide', async () => {
    const e = home();
    for (const [args, tty] of [[['ls', '--all'], false], [['ls', '--all', '--wide'], true]] as const) {
      const result = await runCli(args, e, { tty });
      expect(result.stdout.split('\n')[0]).toMatch(/^NAME\s+KIND\s+SIZE\s+INSTALLED\s+DEFAULT\s+ALIASES\s+DESCRIPTION$/);
      expect(result.stdout).toMatch(/^whisper-tiny\.en\s+asr\s+116 MB\s+asr\s+whisper, whisper-tiny-en\s+OpenAI Whisper tiny\.en \(English only\), int8 and fp32 ONNX via sherpa-onnx\. Download about 116 MB \(unpacks to about 338 MB\)\.$/m);
      expect(widest(result.stdout)).toBeGreaterThan(100);
    }
  });

  it('--json gives the download size, the roles a model is the default for and its aliases', async () => {
    const rows = JSON.parse((await runCli(['ls', '--all', '--json'], home())).stdout) as Record<string, unknown>[];
    expect(rows.find((r) => r.name === 'whisper-tiny.en')).toMatchObject({ size: 116_000_000, installedSize: 338_000_000, default: ['asr'], aliases: ['whisper', 'whisper-tiny-en'] });
    expect(rows.find((r) => r.name === 'parakeet-tdt-0.6b-v2-int8')).toMatchObject({ size: 482_000_000, installedSize: 631_000_000, default: [] });
    expect(rows.filter((r) => (r.default as string[]).length).map((r) => r.default)).toEqual(expect.arrayContaining([['chat'], ['embedding'], ['tts'], ['asr'], ['vad']]));
  });
});

describe('murmur show', () => {
  it('lines up the values and gives a voice model its languages, voices and sample rate', async () => {
    const shown = await runCli(['show', 'libritts'], home());
    expect(shown.code).toBe(0);
    const lines = shown.stdout.split('\n').filter((l) => /^[a-z ]+:\s/.test(l));
    const columns = new Set(lines.map((l) => l.search(/(?<=:\s+)\S/)));
    expect(columns.size).toBe(1);
    expect(shown.stdout).toMatch(/^default voice: +speaker-0$/m);
    expect(shown.stdout).toMatch(/^languages: +en-US$/m);
    expect(shown.stdout).toMatch(/^sample rate: +22050 Hz$/m);
    expect(shown.stdout).toMatch(/^voices: +904 speakers \(ids 0-903\); named: speaker-0 \(en-US\)/m);
    expect(JSON.parse((await runCli(['show', 'libritts', '--json'], home())).stdout)).toMatchObject({ speakerCount: 904, sampleRate: 22050 });
    const kokoro = JSON.parse((await runCli(['show', 'kokoro-multi', '--json'], home())).stdout);
    expect(kokoro.languages).toEqual(['en-US', 'en-GB', 'zh']);
  });

  it.skipIf(missingModels(GGUF))('reads an installed GGUF header: architecture, quantization, context, embedding size, chat template', async () => {
    const e = home();
    const dir = mkdtempSync(join(tmpdir(), 'murmur-gguf-'));
    const file = writeGguf(join(dir, 'tiny-chat.gguf'), {
      'general.architecture': 'qwen3',
      'general.size_label': '0.6B',
      'general.file_type': 15,
      'qwen3.context_length': 40960,
      'qwen3.embedding_length': 1024,
      'tokenizer.chat_template': '{% for message in messages %}{{ message.content }}{% endfor %}',
    });
    expect((await runCli(['pull', file, '--name', 'tiny-chat', '--json'], e)).code).toBe(0);
    const shown = await runCli(['show', 'tiny-chat'], e);
    expect(shown.code).toBe(0);
    expect(shown.stdout).toMatch(/^architecture: +qwen3$/m);
    expect(shown.stdout).toMatch(/^parameters: +0\.6B$/m);
    expect(shown.stdout).toMatch(/^quantization: +Q4_K_M$/m);
    expect(shown.stdout).toMatch(/^context length: +40960$/m);
    expect(shown.stdout).toMatch(/^embedding size: +1024$/m);
    expect(shown.stdout).toMatch(/^chat template: +yes \(jinja\)$/m);
    expect(JSON.parse((await runCli(['show', 'tiny-chat', '--json'], e)).stdout).gguf).toEqual({
      architecture: 'qwen3', parameters: '0.6B', quantization: 'Q4_K_M', contextLength: 40960, embeddingLength: 1024, chatTemplate: true,
    });

    expect((await runCli(['pull', testModel(GGUF)!, '--name', 'stories', '--json'], e)).code).toBe(0);
    const stories = await runCli(['show', 'stories'], e);
    expect(stories.stdout).toMatch(/^architecture: +llama$/m);
    expect(stories.stdout).toMatch(/^context length: +2048$/m);
    expect(stories.stdout).toMatch(/^chat template: +no$/m);
    // No general.size_label nor general.file_type: counted from the tensor infos, and their most common type.
    expect(stories.stdout).toMatch(/^parameters: +292\.80K$/m);
    expect(stories.stdout).toMatch(/^quantization: +F32$/m);
  });
});

describe.skipIf(missingModels(GGUF))('murmur rm --json', () => {
  it('prints what was removed and what was not', async () => {
    const e = home();
    expect((await runCli(['pull', testModel(GGUF)!, '--name', 'one', '--json'], e)).code).toBe(0);
    expect((await runCli(['pull', testModel(GGUF)!, '--name', 'two', '--json'], e)).code).toBe(0);
    const single = await runCli(['rm', 'one', '--json'], e);
    expect(single.code).toBe(0);
    expect(JSON.parse(single.stdout)).toEqual({ removed: ['one'], failed: [] });
    const mixed = await runCli(['rm', 'two', 'nope', '--json'], e);
    expect(mixed.code).toBe(1);
    expect(JSON.parse(mixed.stdout)).toEqual({ removed: ['two'], failed: [{ name: 'nope', error: expect.stringContaining("'nope'") }] });
    const missing = await runCli(['rm', 'nope', '--json'], e);
    expect(missing.code).toBe(1);
    expect(JSON.parse(missing.stdout)).toMatchObject({ removed: [], failed: [{ name: 'nope' }] });
    expect(missing.stderr.match(/'nope'/g)).toHaveLength(1);
  });
});

describe('help examples', () => {
  it('are commands that run as copied, each comment after a #', async () => {
    for (const verb of verbs.map((v) => v.name)) {
      const help = await runCli([verb, '--help'], home());
      const block = help.stdout.split('\nExamples:\n')[1]?.split('\n\n')[0];
      expect(block, verb).toBeDefined();
      for (const line of block!.trimEnd().split('\n')) {
        expect(line, `${verb}: ${line}`).toMatch(/^  \S/);
        // Text after a run of spaces is a comment, so the shell ignores it.
        expect(line.slice(2), `${verb}: ${line}`).not.toMatch(/\S {2,}[^#\s]/);
      }
    }
  });
});
