import { describe, expect, it } from 'vitest';
import { checkSchemaBounds, SCHEMA_LIMITS } from '../../../src/runtime/schema-bounds.js';

const enumSchema = (n: number) => ({ type: 'object', properties: { x: { type: 'string', enum: Array.from({ length: n }, (_, i) => `v${i}`) } } });
const nested = (depth: number): Record<string, unknown> => (depth === 0 ? { type: 'string' } : { type: 'object', properties: { a: nested(depth - 1) } });

describe('schema bounds', () => {
  it('passes ordinary schemas, response formats without a schema, and tools', () => {
    expect(() => checkSchemaBounds({ responseFormat: { type: 'json_schema', schema: enumSchema(100) } })).not.toThrow();
    expect(() => checkSchemaBounds({ responseFormat: { type: 'json_object' } })).not.toThrow();
    expect(() => checkSchemaBounds({ tools: [{ name: 'f', parameters: nested(5) }] })).not.toThrow();
  });

  it('refuses a 50,000-value enum (its size), and a 6,000-value one under the size limit (its count), naming the field', () => {
    const check = () => checkSchemaBounds({ responseFormat: { type: 'json_schema', schema: enumSchema(50_000) } });
    expect(check).toThrow(expect.objectContaining({ code: 'invalid_request', param: 'response_format' }));
    expect(check).toThrow(/too large to enforce: [\d,]+ characters/);
    expect(() => checkSchemaBounds({ responseFormat: { type: 'json_schema', schema: enumSchema(6_000) } })).toThrow(/6,000 enum values/);
  });

  it('counts enum values across the schema, and properties, and nesting', () => {
    const split = { type: 'object', properties: Object.fromEntries(Array.from({ length: 6 }, (_, i) => [`p${i}`, { enum: Array.from({ length: 1000 }, (_, k) => k) }])) };
    expect(() => checkSchemaBounds({ responseFormat: { type: 'json_schema', schema: split } })).toThrow(/6,000 enum values/);
    const wide = { type: 'object', properties: Object.fromEntries(Array.from({ length: SCHEMA_LIMITS.properties + 1 }, (_, i) => [`p${i}`, {}])) };
    expect(() => checkSchemaBounds({ responseFormat: { type: 'json_schema', schema: wide } })).toThrow(/properties/);
    expect(() => checkSchemaBounds({ tools: [{ name: 'f', parameters: nested(SCHEMA_LIMITS.depth + 2) }] })).toThrow(expect.objectContaining({ param: 'tools[0].function.parameters' }));
  });
});
