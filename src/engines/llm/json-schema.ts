import { AppError } from '../../errors.js';

/**
 * A client's JSON Schema, made into what node-llama-cpp's grammar can
 * enforce while tokens are sampled, and told apart from what it cannot.
 *
 * The grammar knows types, const, enum, oneOf, string lengths, the
 * date/time formats, object properties (required, additional, counts),
 * array items and prefixItems with their counts, and $defs references.
 * Beyond those this rewrites what it can into them, so that any value the
 * grammar lets through satisfies the schema:
 * - `$ref` into `#/$defs/…` or draft-07's `#/definitions/…` is inlined
 *   (a recursive one stays a reference); a `$ref` that points nowhere is
 *   an error;
 * - `allOf` is merged into one schema, `anyOf` becomes `oneOf`;
 * - a bounded integer (`minimum`, `maximum`, their exclusive forms,
 *   `multipleOf`) with at most MAX_ENUMERATED values becomes the enum of
 *   them, and a bounded number the enum of the whole numbers in its range
 *   (narrower than the schema, never outside it);
 * - `prefixItems` with `items: false` caps the array at its prefix.
 * What is left (`pattern`, other formats, an unbounded or too wide numeric
 * bound, `not`, `if`…) is listed by keyword and place: in strict mode the
 * request is refused naming it; otherwise the grammar enforces the rest
 * and the reply is checked against the whole schema afterwards.
 */

/** The most values a bounded integer is enumerated into. */
const MAX_ENUMERATED = 1000;

type Schema = Record<string, unknown>;

export interface GrammarSchema {
  /** The schema for node-llama-cpp's createGrammarForJsonSchema. */
  readonly grammar: Schema;
  /** Keywords the grammar cannot enforce, as `keyword at path`. */
  readonly unenforced: readonly string[];
  /** Keywords the grammar holds nearly (a `pattern` beside a date format, as zod writes): checked after, not refused. */
  readonly checked: readonly string[];
}

/** Refuses a strict schema with keywords the grammar cannot hold, naming them and `param`. */
export const refuseUnenforced = (unenforced: readonly string[], param: string) => {
  if (!unenforced.length) return;
  throw new AppError('invalid_request', `The schema's ${unenforced.join(', ')} cannot be enforced while the reply is generated, and strict mode promises a reply that satisfies it.`, {
    param,
    hint: 'Drop the keyword, or turn strict off: murmur then enforces the rest and checks the reply against the whole schema.',
  });
};

/** Keywords that only annotate: they constrain nothing. */
const ANNOTATIONS = new Set(['$schema', '$id', '$comment', 'title', 'description', 'default', 'examples', 'deprecated', 'readOnly', 'writeOnly', 'strict', 'name', '$anchor', 'contentMediaType', 'contentEncoding']);
/** Keywords the grammar schema takes as they are (after their subschemas are converted). */
const GRAMMAR_KEYWORDS = new Set(['type', 'const', 'enum', 'oneOf', 'minLength', 'maxLength', 'properties', 'additionalProperties', 'required', 'minProperties', 'maxProperties', 'items', 'prefixItems', 'minItems', 'maxItems', '$ref', '$defs', 'format']);
const GRAMMAR_FORMATS = new Set(['date-time', 'date', 'time']);
const NUMERIC_BOUNDS = ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum', 'multipleOf'] as const;

const isObject = (value: unknown): value is Schema => typeof value === 'object' && value !== null && !Array.isArray(value);

let schemaParam = 'response_format.json_schema.schema';
const schemaError = (message: string) => new AppError('invalid_request', message, { param: schemaParam });

/** Merges allOf's schemas: their properties and required lists united, the other keywords the stricter. */
const mergeAll = (parts: readonly Schema[], path: string): Schema => {
  const out: Schema = {};
  for (const part of parts) {
    for (const [key, value] of Object.entries(part)) {
      if (!(key in out)) {
        out[key] = value;
        continue;
      }
      const existing = out[key];
      if (key === 'properties' && isObject(existing) && isObject(value)) {
        const merged: Schema = { ...existing };
        for (const [name, sub] of Object.entries(value)) merged[name] = name in merged ? { allOf: [merged[name], sub] } : sub;
        out[key] = merged;
      } else if (key === 'required' && Array.isArray(existing) && Array.isArray(value)) out[key] = [...new Set([...existing, ...value])];
      else if ((key === 'minimum' || key === 'exclusiveMinimum' || key === 'minLength' || key === 'minItems' || key === 'minProperties') && typeof existing === 'number' && typeof value === 'number') out[key] = Math.max(existing, value);
      else if ((key === 'maximum' || key === 'exclusiveMaximum' || key === 'maxLength' || key === 'maxItems' || key === 'maxProperties') && typeof existing === 'number' && typeof value === 'number') out[key] = Math.min(existing, value);
      else if (key === 'type') {
        const a = Array.isArray(existing) ? existing : [existing];
        const b = Array.isArray(value) ? value : [value];
        const both = a.filter((t) => b.includes(t) || (t === 'integer' && b.includes('number'))).concat(b.filter((t) => t === 'integer' && a.includes('number')));
        if (!both.length) throw schemaError(`The schema's allOf at ${path} asks for types ${JSON.stringify(a)} and ${JSON.stringify(b)} at once: no value has both.`);
        out[key] = both.length === 1 ? both[0] : [...new Set(both)];
      } else if (key === 'additionalProperties' && (existing === false || value === false)) out[key] = false;
      else if (key === 'enum' && Array.isArray(existing) && Array.isArray(value)) {
        const both = existing.filter((v) => value.some((w) => JSON.stringify(w) === JSON.stringify(v)));
        if (!both.length) throw schemaError(`The schema's allOf at ${path} allows no value of both its enums.`);
        out[key] = both;
      } else if (JSON.stringify(existing) !== JSON.stringify(value)) {
        // Two different demands of one keyword (two patterns, two consts) are not one schema the grammar can hold.
        throw schemaError(`The schema's allOf at ${path} gives '${key}' twice, differently; murmur cannot merge them.`);
      }
    }
  }
  return out;
};

/** Whether `v` meets the schema's numeric bounds. */
const withinBounds = (schema: Schema, v: number) => {
  const n = (key: string) => (typeof schema[key] === 'number' ? (schema[key] as number) : undefined);
  const exclusiveMin = schema.exclusiveMinimum === true ? n('minimum') : n('exclusiveMinimum');
  const exclusiveMax = schema.exclusiveMaximum === true ? n('maximum') : n('exclusiveMaximum');
  const min = schema.exclusiveMinimum === true ? undefined : n('minimum');
  const max = schema.exclusiveMaximum === true ? undefined : n('maximum');
  const multiple = n('multipleOf');
  return (min === undefined || v >= min) && (max === undefined || v <= max) && (exclusiveMin === undefined || v > exclusiveMin) && (exclusiveMax === undefined || v < exclusiveMax) && (multiple === undefined || Math.abs(v / multiple - Math.round(v / multiple)) < 1e-9);
};

/**
 * The values a bounded integer or number is enumerated into: all of them
 * when few (an integer from 1 to 5), else MAX_ENUMERATED of them from the
 * bound (an integer ≥ 0 becomes 0…999), numbers at the coarsest of 0.01,
 * 0.1 or 1 that fits the range (0 to 1 in hundredths). Every value
 * satisfies the schema; undefined when no bound is usable (bounds at the
 * edge of the safe integers, as zod writes for `.int()`, count as none).
 */
const enumerate = (schema: Schema, integer: boolean): number[] | undefined => {
  const num = (key: string) => (typeof schema[key] === 'number' && Math.abs(schema[key] as number) < Number.MAX_SAFE_INTEGER ? (schema[key] as number) : undefined);
  // draft-04's boolean exclusive bounds
  const exclusiveMin = schema.exclusiveMinimum === true ? num('minimum') : num('exclusiveMinimum');
  const exclusiveMax = schema.exclusiveMaximum === true ? num('maximum') : num('exclusiveMaximum');
  const min = schema.exclusiveMinimum === true ? undefined : num('minimum');
  const max = schema.exclusiveMaximum === true ? undefined : num('maximum');
  const multiple = num('multipleOf');
  if (multiple !== undefined && !(multiple > 0)) return undefined;
  if (min === undefined && max === undefined && exclusiveMin === undefined && exclusiveMax === undefined && multiple === undefined) return undefined;
  const candidates = integer ? [multiple !== undefined && Number.isInteger(multiple) ? multiple : 1] : multiple !== undefined ? [multiple] : [0.01, 0.1, 1];
  const round = (v: number) => Math.round(v * 1e6) / 1e6;
  const fits = (v: number) =>
    (min === undefined || v >= min) && (max === undefined || v <= max) && (exclusiveMin === undefined || v > exclusiveMin) && (exclusiveMax === undefined || v < exclusiveMax) && (multiple === undefined || Math.abs(v / multiple - Math.round(v / multiple)) < 1e-9);
  for (const step of candidates) {
    const lowBound = min ?? (exclusiveMin !== undefined ? exclusiveMin : undefined);
    const highBound = max ?? (exclusiveMax !== undefined ? exclusiveMax : undefined);
    const low = lowBound !== undefined ? Math.ceil(round(lowBound / step)) : highBound !== undefined ? Math.floor(round(highBound / step)) - MAX_ENUMERATED : -Math.floor(MAX_ENUMERATED / 2);
    const high = highBound !== undefined ? Math.floor(round(highBound / step)) : low + MAX_ENUMERATED;
    if (step !== candidates.at(-1) && high - low + 1 > MAX_ENUMERATED) continue;
    const values: number[] = [];
    for (let i = low; i <= high && values.length < MAX_ENUMERATED; i++) {
      const v = round(i * step);
      if (fits(v)) values.push(v);
    }
    return values;
  }
  return undefined;
};

/**
 * Converts `schema` (a client's) into a grammar schema; throws
 * AppError('invalid_request') for a schema no value can satisfy or that
 * references nothing.
 */
export const toGrammarSchema = (root: Schema, param = 'response_format.json_schema.schema'): GrammarSchema => {
  schemaParam = param;
  const unenforced: string[] = [];
  const checked: string[] = [];
  const defs: Schema = { ...(isObject(root.definitions) ? root.definitions : {}), ...(isObject(root.$defs) ? root.$defs : {}) };
  const resolving = new Set<string>();
  const usedDefs = new Map<string, Schema>();

  const resolve = (ref: string, path: string): { name: string; schema: Schema } => {
    const match = /^#\/(\$defs|definitions)\/(.+)$/.exec(ref);
    const name = match ? decodeURIComponent(match[2]!.replace(/~1/g, '/').replace(/~0/g, '~')) : undefined;
    const target = name !== undefined ? defs[name] : ref === '#' ? root : undefined;
    if (!isObject(target)) throw schemaError(`The schema's $ref '${ref}' at ${path} points to nothing in it.`);
    return { name: name ?? '#', schema: target };
  };

  const convert = (input: unknown, path: string): Schema => {
    if (input === true || (isObject(input) && Object.keys(input).every((k) => ANNOTATIONS.has(k)))) {
      // Any value: the grammar's widest.
      return { type: ['string', 'number', 'boolean', 'null', 'object', 'array'] as unknown as string };
    }
    if (input === false) throw schemaError(`The schema at ${path} is false: no value can satisfy it.`);
    if (!isObject(input)) throw schemaError(`The schema at ${path} is not an object.`);
    let schema: Schema = input;

    if (typeof schema.$ref === 'string') {
      const { name, schema: target } = resolve(schema.$ref, path);
      const { $ref: _ref, ...rest } = schema;
      if (resolving.has(name)) {
        // Recursive: kept as a reference to a definition of its own.
        usedDefs.set(name, usedDefs.get(name) ?? {});
        return { $ref: `#/$defs/${name}` };
      }
      resolving.add(name);
      const converted = convert(Object.keys(rest).length ? { allOf: [target, rest] } : target, `${path} ($ref ${schema.$ref})`);
      resolving.delete(name);
      if (usedDefs.has(name) && !Object.keys(usedDefs.get(name)!).length) usedDefs.set(name, { ...converted });
      return converted;
    }
    if (Array.isArray(schema.allOf)) {
      const { allOf, ...rest } = schema;
      schema = mergeAll([rest, ...(allOf as unknown[]).map((part, i) => {
        if (!isObject(part)) throw schemaError(`allOf[${i}] at ${path} is not a schema object.`);
        return isObject(part) && typeof part.$ref === 'string' ? resolve(part.$ref, `${path}.allOf[${i}]`).schema : part;
      })], path);
      if (Array.isArray(schema.allOf)) return convert(schema, path);
    }

    const out: Schema = {};
    const types = schema.type === undefined ? undefined : Array.isArray(schema.type) ? (schema.type as string[]) : [schema.type as string];
    for (const [key, value] of Object.entries(schema)) {
      if (ANNOTATIONS.has(key) || key === 'definitions') continue;
      if (key === '$defs') continue;
      if (key === 'anyOf' || key === 'oneOf') {
        if (!Array.isArray(value) || !value.length) throw schemaError(`'${key}' at ${path} must be a non-empty list of schemas.`);
        out.oneOf = value.map((sub, i) => convert(sub, `${path}.${key}[${i}]`));
        continue;
      }
      if (key === 'properties') {
        if (!isObject(value)) throw schemaError(`'properties' at ${path} must be an object.`);
        out.properties = Object.fromEntries(Object.entries(value).map(([name, sub]) => [name, convert(sub, `${path}.properties.${name}`)]));
        continue;
      }
      if (key === 'additionalProperties') {
        out.additionalProperties = typeof value === 'boolean' ? value : convert(value, `${path}.additionalProperties`);
        continue;
      }
      if (key === 'items') {
        if (value === false) {
          out.maxItems = Array.isArray(schema.prefixItems) ? schema.prefixItems.length : 0;
          if (typeof schema.maxItems === 'number') out.maxItems = Math.min(schema.maxItems, out.maxItems as number);
        } else if (Array.isArray(value)) {
          // draft-07 tuple form: items as a list is prefixItems, additionalItems the rest.
          out.prefixItems = value.map((sub, i) => convert(sub, `${path}.items[${i}]`));
          if (schema.additionalItems === false) out.maxItems = value.length;
          else if (isObject(schema.additionalItems)) out.items = convert(schema.additionalItems, `${path}.additionalItems`);
        } else out.items = convert(value, `${path}.items`);
        continue;
      }
      if (key === 'additionalItems') continue;
      if (key === 'prefixItems') {
        if (!Array.isArray(value)) throw schemaError(`'prefixItems' at ${path} must be a list of schemas.`);
        out.prefixItems = value.map((sub, i) => convert(sub, `${path}.prefixItems[${i}]`));
        continue;
      }
      if (key === 'maxItems' && 'maxItems' in out) continue;
      if (key === 'format') {
        if (typeof value === 'string' && GRAMMAR_FORMATS.has(value) && types?.length === 1 && types[0] === 'string') out.format = value;
        else unenforced.push(`format '${String(value)}' at ${path}`);
        continue;
      }
      if ((NUMERIC_BOUNDS as readonly string[]).includes(key)) continue; // below
      if (key === 'type' && Array.isArray(value) && value.includes('integer') && value.includes('number')) {
        out.type = value.filter((t) => t !== 'integer');
        continue;
      }
      if (GRAMMAR_KEYWORDS.has(key)) out[key] = value;
      // zod's date helpers write a pattern beside the format: the grammar's format writes what it matches.
      else if (key === 'pattern' && typeof schema.format === 'string' && GRAMMAR_FORMATS.has(schema.format)) checked.push(`${key} at ${path}`);
      else unenforced.push(`${key} at ${path}`);
    }

    // Numeric bounds: a few whole numbers become their enum; anything else the grammar cannot hold.
    // A bound at the edge of the safe integers (zod's `.int()`) bounds nothing a model writes.
    const bounded = NUMERIC_BOUNDS.filter((k) => schema[k] !== undefined && schema[k] !== false && !(typeof schema[k] === 'number' && Math.abs(schema[k] as number) >= Number.MAX_SAFE_INTEGER));
    if (bounded.length) {
      const numeric = types?.filter((t) => t === 'integer' || t === 'number') ?? [];
      if (numeric.length && types!.length === numeric.length && out.enum === undefined && out.const === undefined) {
        const values = enumerate(schema, numeric.every((t) => t === 'integer'));
        if (values?.length) {
          delete out.type;
          out.enum = values;
        } else if (values && !values.length) throw schemaError(`The bounds at ${path} leave no ${numeric.includes('number') ? 'number the grammar can write' : 'integer'} between them.`);
        else unenforced.push(...bounded.map((k) => `${k} at ${path}`));
      } else if (out.enum !== undefined || out.const !== undefined) {
        // Checked after generation: an enum's values either meet the bounds or were never allowed.
        const allowed = (out.enum as unknown[] | undefined) ?? [out.const];
        out.enum = allowed.filter((v) => typeof v !== 'number' || withinBounds(schema, v));
        delete out.const;
      } else unenforced.push(...bounded.map((k) => `${k} at ${path}`));
    }
    return out;
  };

  const converted = convert(root, 'the root');
  const grammar = usedDefs.size ? { ...converted, $defs: Object.fromEntries(usedDefs) } : converted;
  return { grammar, unenforced, checked };
};

/** A tool's arguments schema as the grammar holds it; a strict tool with a keyword it cannot hold is a 400. */
export const toolGrammar = (tool: { parameters?: Readonly<Record<string, unknown>>; strict?: boolean }, index: number) => {
  const param = `tools[${index}].function.parameters`;
  const { grammar, unenforced } = toGrammarSchema(tool.parameters as Record<string, unknown>, param);
  if (tool.strict) refuseUnenforced(unenforced, param);
  return grammar;
};

/* ---------- checking a reply against the whole schema ---------- */

type Validate = ((value: unknown) => boolean) & { errors?: { instancePath: string; message?: string; keyword: string }[] | null };
const validators = new Map<string, Validate>();
let ajvs: { draft07: import('ajv').default; draft2020: import('ajv').default } | undefined;

/** Ajv (draft-07, or 2020-12 when the schema says so) with the formats, made on first use. */
const compilerFor = async (schema: Schema) => {
  if (!ajvs) {
    // CommonJS packages: their classes are the default export's `default`.
    const [ajv, ajv2020, formats] = await Promise.all([import('ajv'), import('ajv/dist/2020.js'), import('ajv-formats')]);
    const Ajv = ajv.default.default;
    const Ajv2020 = ajv2020.default.default;
    const addFormats = formats.default.default;
    const options = { strict: false, allErrors: false, validateFormats: true };
    const draft07 = new Ajv(options);
    const draft2020 = new Ajv2020(options) as unknown as import('ajv').default;
    addFormats(draft07);
    addFormats(draft2020 as never);
    ajvs = { draft07, draft2020 };
  }
  return typeof schema.$schema === 'string' && /2020-12|2019-09/.test(schema.$schema) ? ajvs.draft2020 : ajvs.draft07;
};

/**
 * Checks `text` (a reply) against the whole schema: undefined when it is
 * valid JSON that satisfies it, else what is wrong, e.g. "/stars must be
 * <= 5". A schema ajv cannot compile is checked as far as the grammar went.
 */
export const checkAgainstSchema = async (schema: Schema, text: string): Promise<string | undefined> => {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return 'the reply is not JSON';
  }
  const key = JSON.stringify(schema);
  let validate = validators.get(key);
  if (!validate) {
    try {
      validate = (await compilerFor(schema)).compile(schema) as Validate;
    } catch {
      return undefined;
    }
    if (validators.size >= 64) validators.delete(validators.keys().next().value!);
    validators.set(key, validate);
  }
  if (validate(value)) return undefined;
  const first = validate.errors?.[0];
  return first ? `${first.instancePath || 'the value'} ${first.message ?? `fails ${first.keyword}`}` : 'the reply does not match the schema';
};
