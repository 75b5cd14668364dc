import type { ModelInfo } from '../types/models.js';
import type { CatalogDefaults } from './schema.js';

/** A role a default model plays: what `catalog.defaults` names. */
export type DefaultRole = keyof CatalogDefaults;

export interface DefaultInputs {
  /** The configured default (MURMUR_CHAT_MODEL, MURMUR_TTS_MODEL, MURMUR_ASR_MODEL). */
  readonly configured?: string;
  /** The catalog's default for the role, by name. */
  readonly catalogDefault?: string;
  /** The installed models of the role's kind (any order). */
  readonly installed: readonly Pick<ModelInfo, 'name' | 'pulledAt'>[];
}

export interface DefaultChoice {
  readonly name: string;
  /** False when the choice still has to be pulled (the catalog default, with nothing of its kind installed). */
  readonly installed: boolean;
  readonly why: 'configured' | 'catalog' | 'installed';
}

/**
 * The one rule for a default model: the configured one; else the catalog's
 * default when installed; else the earliest installed model of the kind
 * (pulled first, then by name), so importing another model never silently
 * changes the default; else the catalog default, to be pulled. Undefined
 * when there is nothing at all to choose.
 */
export const pickDefaultModel = ({ configured, catalogDefault, installed }: DefaultInputs): DefaultChoice | undefined => {
  if (configured) return { name: configured, installed: installed.some((m) => m.name === configured), why: 'configured' };
  if (catalogDefault && installed.some((m) => m.name === catalogDefault)) return { name: catalogDefault, installed: true, why: 'catalog' };
  const first = [...installed].sort((a, b) => (a.pulledAt ?? '').localeCompare(b.pulledAt ?? '') || a.name.localeCompare(b.name))[0];
  if (first) return { name: first.name, installed: true, why: 'installed' };
  return catalogDefault ? { name: catalogDefault, installed: false, why: 'catalog' } : undefined;
};
