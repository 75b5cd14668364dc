import { z } from 'zod';

import { engineNames, families, modelKinds } from '../types/models.js';

export type { EngineName, Family, ModelKind } from '../types/models.js';
export { engineNames as engines, families, modelKinds };

export const archiveTypes = ['tar.bz2', 'tar.gz', 'tar'] as const;
export type ArchiveType = (typeof archiveTypes)[number];

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a sha256 is 64 lower-case hex digits');

export const modelFileSchema = z.strictObject({
  /** Where the file comes from: https URL, or hf:owner/repo/path. */
  url: z.string().min(1),
  /** Its name inside the model's directory; defaults to the URL's last segment. Ignored for archives. */
  path: z.string().min(1).optional(),
  /** Bytes, when known: checked after download. */
  size: z.number().int().positive().optional(),
  sha256: sha256.optional(),
  /** Set when the file is an archive to unpack into the model's directory (its single top folder is stripped). */
  archive: z.enum(archiveTypes).optional(),
});
export type ModelFile = z.infer<typeof modelFileSchema>;

export const voiceSchema = z.strictObject({
  /** The name users pass to --voice. */
  name: z.string().min(1),
  /** The speaker id inside the model. */
  id: z.number().int().nonnegative(),
  language: z.string().optional(),
  gender: z.enum(['female', 'male']).optional(),
});
export type Voice = z.infer<typeof voiceSchema>;

export const catalogEntrySchema = z.strictObject({
  /** The id users type: lower-case, digits, '.', '-' and '_'. */
  name: z.string().regex(/^[a-z0-9][a-z0-9._-]*$/, 'a name is lower-case letters, digits, ".", "-" and "_"'),
  aliases: z.array(z.string().min(1)).optional(),
  kind: z.enum(modelKinds),
  engine: z.enum(engineNames),
  family: z.enum(families),
  description: z.string(),
  license: z.string(),
  languages: z.array(z.string()),
  /** Total download size in bytes (approximate where a file's size is not pinned): what `murmur list --all` shows. */
  size: z.number().int().positive(),
  /** Bytes on disk once installed, where it differs much from `size` (archives unpack to more than they download). */
  installedSize: z.number().int().positive().optional(),
  files: z.array(modelFileSchema).min(1),
  /** Output sample rate (tts) or expected input rate (asr, vad), in Hz. */
  sampleRate: z.number().int().positive().optional(),
  voices: z.array(voiceSchema).optional(),
  /** How many speakers a multi-speaker tts model holds (ids 0 to speakerCount-1), when `voices` names only some of them. */
  speakerCount: z.number().int().positive().optional(),
  /** The default voice's name (tts). */
  defaultVoice: z.string().optional(),
  /** Engine-specific settings the files alone do not tell (e.g. kokoro's lexicon list, whisper's language). */
  options: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])).optional(),
  /** Where its facts were read: a URL or a note. */
  homepage: z.string().optional(),
});
export type CatalogEntry = z.infer<typeof catalogEntrySchema>;

export const catalogDefaultsSchema = z.strictObject({
  chat: z.string().optional(),
  embedding: z.string().optional(),
  tts: z.string().optional(),
  asr: z.string().optional(),
  vad: z.string().optional(),
});
export type CatalogDefaults = z.infer<typeof catalogDefaultsSchema>;

export const catalogFileSchema = z.strictObject({
  $schema: z.string().optional(),
  defaults: catalogDefaultsSchema.optional(),
  models: z.array(catalogEntrySchema),
});
export type CatalogFile = z.infer<typeof catalogFileSchema>;
