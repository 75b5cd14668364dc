import { AppError } from '../errors.js';
import type { ChatRequest } from '../types/chat.js';

/**
 * Bounds on the JSON Schemas a chat request turns into grammars (its
 * response_format and its tools' parameters): compiling one costs time in
 * proportion to its size, and a 50,000-value enum held a model's slot for
 * 6.7 s. The limits follow OpenAI's for structured outputs, a little
 * looser: what a real schema needs fits well inside.
 */
export const SCHEMA_LIMITS = {
  /** Characters of the schema as JSON. */
  chars: 200_000,
  /** Values of all its enums together (and consts). */
  enumValues: 5_000,
  /** Properties of all its objects together. */
  properties: 5_000,
  /** Levels of nested objects and arrays. */
  depth: 32,
} as const;

interface Tally {
  enumValues: number;
  properties: number;
  depth: number;
}

const walk = (node: unknown, depth: number, tally: Tally): void => {
  if (depth > tally.depth) tally.depth = depth;
  if (depth > SCHEMA_LIMITS.depth) return;
  if (Array.isArray(node)) {
    for (const item of node) walk(item, depth + 1, tally);
    return;
  }
  if (!node || typeof node !== 'object') return;
  const record = node as Record<string, unknown>;
  if (Array.isArray(record.enum)) tally.enumValues += record.enum.length;
  if ('const' in record) tally.enumValues += 1;
  if (record.properties && typeof record.properties === 'object') tally.properties += Object.keys(record.properties).length;
  for (const value of Object.values(record)) if (value && typeof value === 'object') walk(value, depth + 1, tally);
};

const check = (schema: unknown, param: string): void => {
  const chars = JSON.stringify(schema)?.length ?? 0;
  const tally: Tally = { enumValues: 0, properties: 0, depth: 0 };
  const fail = (what: string) => {
    throw new AppError('invalid_request', `The schema in '${param}' is too large to enforce: ${what}.`, {
      hint: `A schema may have up to ${SCHEMA_LIMITS.chars.toLocaleString('en')} characters, ${SCHEMA_LIMITS.enumValues.toLocaleString('en')} enum values, ${SCHEMA_LIMITS.properties.toLocaleString('en')} properties and ${SCHEMA_LIMITS.depth} levels of nesting; describe long lists in the prompt instead.`,
      param,
    });
  };
  if (chars > SCHEMA_LIMITS.chars) fail(`${chars.toLocaleString('en')} characters`);
  walk(schema, 0, tally);
  if (tally.depth > SCHEMA_LIMITS.depth) fail(`more than ${SCHEMA_LIMITS.depth} levels of nesting`);
  if (tally.enumValues > SCHEMA_LIMITS.enumValues) fail(`${tally.enumValues.toLocaleString('en')} enum values`);
  if (tally.properties > SCHEMA_LIMITS.properties) fail(`${tally.properties.toLocaleString('en')} properties`);
};

/** Throws AppError('invalid_request') when the request's response format or a tool's parameters exceed SCHEMA_LIMITS. */
export const checkSchemaBounds = (request: Pick<ChatRequest, 'responseFormat' | 'tools'>): void => {
  if (request.responseFormat?.type === 'json_schema') check(request.responseFormat.schema, 'response_format');
  request.tools?.forEach((tool, i) => tool.parameters && check(tool.parameters, `tools[${i}].function.parameters`));
};
