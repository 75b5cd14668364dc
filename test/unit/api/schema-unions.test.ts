import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseBody } from '../../../src/api/openai/schema-helpers.js';

/** A field that takes several forms says what is wrong with the one sent, not "Invalid input". */
describe('parseBody on a union', () => {
  const tokenIds = z.array(z.number().int().min(0)).min(1);
  const schema = z.object({ prompt: z.union([z.string(), z.array(z.string()).length(1, { message: 'one prompt per request' })]), input: z.union([z.string(), tokenIds]).optional(), extra: z.string().optional() });
  const error = (body: unknown) => {
    try {
      parseBody(schema, body);
    } catch (e) {
      return e as { message: string; param?: string };
    }
    throw new Error('no error');
  };
  it('names what the likeliest form got wrong', () => {
    expect(error({ prompt: ['a', 'b'] })).toMatchObject({ message: "Invalid value for 'prompt': one prompt per request.", param: 'prompt' });
  });
  it('lists the forms when none fits', () => {
    expect(error({ prompt: 5 })).toMatchObject({ message: "Invalid value for 'prompt': expected string or array.", param: 'prompt' });
    expect(error({ prompt: 'x', input: [1.5] }).message).toMatch(/^Invalid value for 'input': expected string or an array of/);
  });
  it('names an unknown field of a strict schema', () => {
    expect(() => parseBody(schema.strict(), { prompt: 'x', frobnicate: 1 })).toThrow("Unknown parameter: 'frobnicate'.");
  });
});
