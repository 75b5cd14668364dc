import { readFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Readable } from 'node:stream';
import { parseNumber } from '../../src/config.js';
import { AppError } from '../../src/errors.js';
import type { ChatSettings } from './chat-app.js';

/** The chat command's flags as commander hands them over (all strings). */
export interface RawChatOptions {
  readonly model?: string;
  readonly system?: string;
  readonly temperature?: string;
  readonly topP?: string;
  readonly seed?: string;
  readonly maxTokens?: string;
  readonly jsonSchema?: string;
  readonly local?: boolean;
  readonly host?: string;
  readonly json?: boolean;
  readonly gpu?: string;
  readonly speak?: boolean;
}

const number = (raw: string | undefined, flag: string, check: (n: number) => boolean, rule: string): number | undefined =>
  raw === undefined ? undefined : parseNumber(raw, flag, check, rule);

/** Checks the numeric flags; throws UsageError (exit 2) naming the flag. */
export const parseSampling = (options: RawChatOptions): Omit<ChatSettings, 'responseFormat'> => {
  const settings = {
    temperature: number(options.temperature, '--temperature', (n) => n >= 0 && n <= 10, 'a number from 0 to 10'),
    topP: number(options.topP, '--top-p', (n) => n > 0 && n <= 1, 'a number above 0 and at most 1'),
    seed: number(options.seed, '--seed', (n) => Number.isSafeInteger(n) && n >= 0, 'a whole number of 0 or more'),
    maxTokens: number(options.maxTokens, '--max-tokens', (n) => Number.isSafeInteger(n) && n >= 1, 'a whole number of 1 or more'),
  };
  return Object.fromEntries(Object.entries(settings).filter(([, v]) => v !== undefined));
};

/** Reads and parses a `--json-schema` file; the error names the file. */
export const readJsonSchema = async (file: string, cwd = process.cwd()): Promise<Record<string, unknown>> => {
  const path = resolve(cwd, file);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'it does not exist' : (error as Error).message;
    throw new AppError('invalid_request', `Cannot read the JSON schema file '${file}': ${reason}.`, {
      hint: 'Pass --json-schema a file holding a JSON Schema object.',
      cause: error,
    });
  }
  let schema: unknown;
  try {
    schema = JSON.parse(text);
  } catch (error) {
    throw new AppError('invalid_request', `The JSON schema file '${file}' is not valid JSON: ${(error as Error).message}.`, {
      hint: 'Fix the file; it must hold one JSON Schema object.',
      cause: error,
    });
  }
  if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
    throw new AppError('invalid_request', `The JSON schema file '${file}' must hold a JSON object.`, {
      hint: 'A schema looks like {"type":"object","properties":{...}}.',
    });
  }
  return schema as Record<string, unknown>;
};

/** All of a stream as text (the piped prompt). */
export const readAll = async (stream: Readable): Promise<string> => {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks).toString('utf8');
};

/** The prompt from the argument and the piped stdin: argument first, joined by a blank line. */
export const joinPrompt = (argument: string | undefined, piped: string | undefined): string =>
  [argument?.trim(), piped?.trim()].filter((part): part is string => Boolean(part)).join('\n\n');

/**
 * Whether a word looks as if it was meant as a model name (`qwen3`,
 * `llama-3.2`, `org/model:q4`), not a plain word of a sentence: it has a
 * digit, a dash, a colon, a slash or a dot inside it.
 */
export const looksLikeModelName = (word: string): boolean => /^\S+$/.test(word) && /\d|[-:/._](?=\S)/.test(word);
