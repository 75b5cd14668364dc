import type { z } from 'zod';
import { AppError } from '../../errors.js';

/*
 * Validation of OpenAI-style JSON bodies with zod: the first bad field
 * becomes a 400 `invalid_request_error` naming it in `param`, worded as
 * OpenAI words it ("Missing required parameter: 'model'.").
 */

/** `messages[0].content` style, as OpenAI names params. */
export const paramName = (path: readonly PropertyKey[]): string =>
  path.reduce<string>((name, key) => (typeof key === 'number' ? `${name}[${key}]` : name ? `${name}.${String(key)}` : String(key)), '');

/**
 * Validates `body` against `schema`; throws AppError('invalid_request') naming
 * the first bad param otherwise. Unknown fields are ignored unless the
 * schema is strict (the Responses API's is: OpenAI refuses them there).
 */
export const parseBody = <T>(schema: z.ZodType<T>, body: unknown): T => {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new AppError('invalid_request', 'The request body must be a JSON object.');
  }
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  const issue = result.error.issues[0]!;
  if (issue.code === 'unrecognized_keys') {
    // A strict schema's unknown field: named, as OpenAI names it, never dropped.
    const key = paramName([...issue.path, issue.keys[0]!]);
    throw new AppError('invalid_request', `Unknown parameter: '${key}'.`, { param: key });
  }
  if (issue.code === 'invalid_union') return unionError(issue);
  const param = paramName(issue.path);
  const missing = issue.code === 'invalid_type' && (body as Record<string, unknown>)[String(issue.path[0])] === undefined && issue.path.length === 1;
  const message = missing ? `Missing required parameter: '${param}'.` : `Invalid value for '${param || 'body'}': ${issue.message}.`;
  throw new AppError('invalid_request', message, { param: param || undefined });
};

/**
 * A union's failure said by its likeliest branch: a branch that got past
 * the value's type says what is wrong in it (prompt: ["a", "b"] → "murmur
 * completes one prompt per request"); else the forms it may take.
 */
const unionError = (issue: z.core.$ZodIssueInvalidUnion): never => {
  const param = paramName(issue.path);
  const branches = issue.errors ?? [];
  const telling = branches.find((b) => b.length && b.every((i) => i.code !== 'invalid_type' && i.code !== 'invalid_union'))?.[0];
  if (telling) {
    const at = paramName([...issue.path, ...telling.path]);
    throw new AppError('invalid_request', `Invalid value for '${at}': ${telling.message}.`, { param: at });
  }
  const expected = [...new Set(branches.map((b) => (b[0]?.path.length ? `an array of ${(b[0] as { expected?: string }).expected ?? 'values'}s` : ((b[0] as { expected?: string } | undefined)?.expected ?? 'value'))))];
  throw new AppError('invalid_request', `Invalid value for '${param || 'body'}': expected ${expected.join(' or ')}.`, { param: param || undefined });
};
