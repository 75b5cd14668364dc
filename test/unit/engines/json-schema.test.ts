import { describe, expect, it } from 'vitest';
import { checkAgainstSchema, toGrammarSchema } from '../../../src/engines/llm/json-schema.js';

/**
 * A client's JSON Schema made into what node-llama-cpp's grammar holds:
 * every value the converted schema allows must satisfy the original, and
 * what cannot be held is named.
 */

describe('toGrammarSchema', () => {
  it('bounded numbers become enums of values inside the bounds', () => {
    expect(toGrammarSchema({ type: 'integer', minimum: 1, maximum: 5 })).toEqual({ grammar: { enum: [1, 2, 3, 4, 5] }, unenforced: [], checked: [] });
    expect(toGrammarSchema({ type: 'integer', exclusiveMinimum: 0, maximum: 30, multipleOf: 5 }).grammar).toEqual({ enum: [5, 10, 15, 20, 25, 30] });
    const unit = toGrammarSchema({ type: 'number', minimum: 0, maximum: 1 }).grammar.enum as number[];
    expect(unit.length).toBe(101);
    expect(unit.every((v) => v >= 0 && v <= 1)).toBe(true);
    // One bound: a thousand values from it, all on its side.
    const positive = toGrammarSchema({ type: 'integer', minimum: 0 }).grammar.enum as number[];
    expect(positive.length).toBe(1000);
    expect(Math.min(...positive)).toBe(0);
    const below = toGrammarSchema({ type: 'number', exclusiveMaximum: 10 }).grammar.enum as number[];
    expect(Math.max(...below)).toBeLessThan(10);
    // zod's .int() writes the safe-integer edges: they bound nothing.
    expect(toGrammarSchema({ type: 'integer', minimum: -9007199254740991, maximum: 9007199254740991 })).toEqual({ grammar: { type: 'integer' }, unenforced: [], checked: [] });
    expect(() => toGrammarSchema({ type: 'integer', minimum: 3, maximum: 2 })).toThrow(/leave no integer/);
  });

  it('names what the grammar cannot hold', () => {
    expect(toGrammarSchema({ type: 'string', pattern: '^a$' }).unenforced).toEqual(['pattern at the root']);
    expect(toGrammarSchema({ type: 'object', properties: { e: { type: 'string', format: 'email' } } }).unenforced).toEqual(["format 'email' at the root.properties.e"]);
    expect(toGrammarSchema({ type: 'string', format: 'date-time' })).toEqual({ grammar: { type: 'string', format: 'date-time' }, unenforced: [], checked: [] });
    expect(toGrammarSchema({ not: { type: 'string' } }).unenforced).toEqual(['not at the root']);
    // zod's date helpers: a pattern beside a date format is held by the format, and checked after.
    expect(toGrammarSchema({ type: 'string', format: 'date', pattern: '^\\d{4}-\\d{2}-\\d{2}$' })).toEqual({ grammar: { type: 'string', format: 'date' }, unenforced: [], checked: ['pattern at the root'] });
  });

  it('merges allOf, inlines $ref (draft-07 definitions too), keeps a recursive one, refuses a dangling one', () => {
    expect(toGrammarSchema({ allOf: [{ type: 'object', properties: { a: { type: 'string' } }, required: ['a'] }, { properties: { b: { type: 'integer' } }, required: ['b'] }] }).grammar).toEqual({
      type: 'object',
      properties: { a: { type: 'string' }, b: { type: 'integer' } },
      required: ['a', 'b'],
    });
    expect(() => toGrammarSchema({ allOf: [{ type: 'string' }, { type: 'integer' }] })).toThrow(/no value has both/);
    expect(toGrammarSchema({ allOf: [{ enum: ['a', 'b', 'c'] }, { enum: ['b', 'c', 'd'] }] }).grammar).toEqual({ enum: ['b', 'c'] });
    expect(() => toGrammarSchema({ allOf: [{ enum: ['a'] }, { enum: ['b'] }] })).toThrow(/no value of both its enums/);
    expect(() => toGrammarSchema({ allOf: [{ const: 1 }, { const: 2 }] })).toThrow(/gives 'const' twice/);
    expect(toGrammarSchema({ definitions: { N: { type: 'integer', minimum: 1, maximum: 2 } }, type: 'object', properties: { n: { $ref: '#/definitions/N' } } }).grammar).toEqual({ type: 'object', properties: { n: { enum: [1, 2] } } });
    expect(() => toGrammarSchema({ properties: { n: { $ref: '#/$defs/Gone' } } })).toThrow(/'#\/\$defs\/Gone' at the root\.properties\.n points to nothing/);
    const recursive = toGrammarSchema({ $defs: { Node: { type: 'object', properties: { next: { anyOf: [{ $ref: '#/$defs/Node' }, { type: 'null' }] } } } }, $ref: '#/$defs/Node' }).grammar;
    expect(recursive.$defs).toBeDefined();
    expect(JSON.stringify(recursive)).toContain('"$ref":"#/$defs/Node"');
  });

  it('caps prefixItems with items: false, and reads the draft-07 tuple form', () => {
    expect(toGrammarSchema({ type: 'array', prefixItems: [{ type: 'string' }], items: false }).grammar).toEqual({ type: 'array', prefixItems: [{ type: 'string' }], maxItems: 1 });
    expect(toGrammarSchema({ type: 'array', items: [{ type: 'string' }, { type: 'boolean' }], additionalItems: false }).grammar).toEqual({ type: 'array', prefixItems: [{ type: 'string' }, { type: 'boolean' }], maxItems: 2 });
  });
});

describe('checkAgainstSchema', () => {
  it('says what is wrong with a reply, and nothing of a good one', async () => {
    const schema = { type: 'object', properties: { stars: { type: 'integer', minimum: 1, maximum: 5 }, code: { type: 'string', pattern: '^[A-Z]+$' } }, required: ['stars'] };
    expect(await checkAgainstSchema(schema, '{"stars": 3, "code": "ABC"}')).toBeUndefined();
    expect(await checkAgainstSchema(schema, '{"stars": -30}')).toMatch(/\/stars must be >= 1/);
    expect(await checkAgainstSchema(schema, '{"stars": 2, "code": "abc"}')).toMatch(/\/code must match pattern/);
    expect(await checkAgainstSchema(schema, '{"stars":')).toBe('the reply is not JSON');
    expect(await checkAgainstSchema({ type: 'string', format: 'email' }, '"nope"')).toMatch(/must match format "email"/);
  });
});
