import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readOnnxMetadata, readOnnxSummary } from '../../../src/store/onnx-metadata.js';
import { bytesField, varint, writeOnnx } from '../../helpers/onnx-builder.js';
import { writeOnnxGraph } from '../../helpers/onnx-graph.js';
import { missingModels, testModel } from '../../helpers/models.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'murmur-onnx-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe.skipIf(missingModels('tts-synthetic/piper-style/model.onnx', 'tts-synthetic/characters-style/model.onnx', 'yesno-tdnn-ctc/model.onnx', 'silero-vad/silero_vad.onnx'))(
  'readOnnxMetadata on the shared real models',
  () => {
    it('reads the piper-style metadata listed in SOURCES.md', async () => {
      const meta = await readOnnxMetadata(testModel('tts-synthetic/piper-style/model.onnx')!);
      expect(meta).toMatchObject({ model_type: 'vits', comment: 'piper', sample_rate: '16000', voice: 'en-us', n_speakers: '1', add_blank: '1', punctuation: '' });
    });

    it('reads the characters-style metadata', async () => {
      const meta = await readOnnxMetadata(testModel('tts-synthetic/characters-style/model.onnx')!);
      expect(meta).toMatchObject({ frontend: 'characters', sample_rate: '16000', add_blank: '0' });
    });

    it('reads model_type=tdnn from the yesno model', async () => {
      const meta = await readOnnxMetadata(testModel('yesno-tdnn-ctc/model.onnx')!);
      expect(meta).toMatchObject({ model_type: 'tdnn', vocab_size: '4' });
    });

    it('returns an empty record for a real model without metadata (silero v5)', async () => {
      expect(await readOnnxMetadata(testModel('silero-vad/silero_vad.onnx')!)).toEqual({});
    });

    it('rejects a real model cut in half', async () => {
      const bytes = await readFile(testModel('yesno-tdnn-ctc/model.onnx')!);
      const cut = join(dir, 'cut.onnx');
      await writeFile(cut, bytes.subarray(0, Math.floor(bytes.length / 2)));
      await expect(readOnnxMetadata(cut)).rejects.toMatchObject({ code: 'not_supported' });
    });
  },
);

describe('readOnnxMetadata on crafted files', () => {
  it('finds metadata written after a large graph field, seeking past it', async () => {
    const file = await writeOnnx(join(dir, 'big.onnx'), {
      graphBytes: 48 * 1024 * 1024,
      metadata: { model_type: 'zipformer2', comment: 'after the graph', 'ünïcode': 'välue ✓' },
    });
    expect((await stat(file)).size).toBeGreaterThan(48 * 1024 * 1024);
    expect(await readOnnxMetadata(file)).toEqual({ model_type: 'zipformer2', comment: 'after the graph', 'ünïcode': 'välue ✓' });
  });

  it('finds metadata written before the graph', async () => {
    const file = await writeOnnx(join(dir, 'first.onnx'), { metadataFirst: true, metadata: { sample_rate: 24000 } });
    expect(await readOnnxMetadata(file)).toEqual({ sample_rate: '24000' });
  });

  it('handles a graph length that needs a multi-byte varint and large ir_version values', async () => {
    const file = await writeOnnx(join(dir, 'varint.onnx'), { graphBytes: 300_000, irVersion: 2 ** 40, metadata: { a: '1' } });
    expect(await readOnnxMetadata(file)).toEqual({ a: '1' });
  });

  it('keeps the last value when a key repeats, and an empty value', async () => {
    const file = await writeOnnx(join(dir, 'repeat.onnx'), { metadata: { k: '' } });
    const extra = bytesField(14, Buffer.concat([bytesField(1, Buffer.from('k')), bytesField(2, Buffer.from('two'))]));
    await writeFile(file, Buffer.concat([await readFile(file), extra]));
    expect(await readOnnxMetadata(file)).toEqual({ k: 'two' });
  });

  it('rejects an empty file, garbage and a graph that runs past the end', async () => {
    const empty = join(dir, 'empty.onnx');
    await writeFile(empty, '');
    await expect(readOnnxMetadata(empty)).rejects.toMatchObject({ code: 'not_supported' });

    const garbage = join(dir, 'garbage.onnx');
    await writeFile(garbage, 'this is not a protobuf, just some text pretending to be a model\n'.repeat(20));
    await expect(readOnnxMetadata(garbage)).rejects.toMatchObject({ code: 'not_supported' });

    const truncated = join(dir, 'truncated.onnx');
    // ir_version, then a graph field that claims 1 MB but holds 10 bytes.
    await writeFile(truncated, Buffer.concat([Buffer.from([0x08, 0x08, 0x3a]), varint(1 << 20), Buffer.alloc(10)]));
    await expect(readOnnxMetadata(truncated)).rejects.toThrow(/past the end/);
  });

  it('rejects a file whose varint never ends', async () => {
    const file = join(dir, 'varint-forever.onnx');
    await writeFile(file, Buffer.concat([Buffer.from([0x08]), Buffer.alloc(12, 0xff)]));
    await expect(readOnnxMetadata(file)).rejects.toMatchObject({ code: 'not_supported' });
  });
});

describe('readOnnxSummary', () => {
  it("reads a graph's input and output names with the metadata", async () => {
    const file = await writeOnnxGraph(join(dir, 'graph.onnx'), {
      nodes: [{ op: 'Add', inputs: ['a', 'b'], outputs: ['sum'] }, { op: 'Identity', inputs: ['a'], outputs: ['copy'] }],
      initializers: [{ name: 'unused', type: 'float', dims: [2], values: [1, 2] }],
      inputs: [{ name: 'a', type: 'float', shape: ['N', 3] }, { name: 'b', type: 'float', shape: [3] }],
      outputs: [{ name: 'sum', type: 'float' }, { name: 'copy', type: 'float', shape: ['N', 3] }],
      metadata: { vocab_size: 6 },
    });
    expect(await readOnnxSummary(file)).toEqual({ metadata: { vocab_size: '6' }, inputs: ['a', 'b'], outputs: ['sum', 'copy'] });
  });
});
