import type { EngineName, Family, ModelKind, Voice } from '../catalog/schema.js';

/**
 * How a model's files map onto its engine, as recognized from the files
 * themselves (src/store/detect-family.ts). `files` maps a role (model, tokens,
 * dataDir, voices, lexicon, encoder, decoder, joiner, …) to a path relative
 * to the model's directory.
 */
export interface Layout {
  readonly kind: ModelKind;
  readonly engine: EngineName;
  readonly family: Family;
  readonly files: Readonly<Record<string, string>>;
  readonly sampleRate?: number;
  /** ONNX metadata_props of the main model file (for GGUF: a few header facts), where read. */
  readonly metadata?: Readonly<Record<string, string>>;
}

export interface ManifestFile {
  readonly path: string;
  readonly size: number;
  readonly sha256?: string;
}

/** What the store keeps about an installed model, in `<home>/models/<name>/murmur.json`. */
export interface Manifest {
  readonly name: string;
  readonly kind: ModelKind;
  readonly engine: EngineName;
  readonly family: Family;
  /** Where it came from: a catalog name, an hf: URI, a URL or a local path. */
  readonly source: string;
  readonly description?: string;
  readonly license?: string;
  readonly languages?: readonly string[];
  /** Role → relative path, from the Layout. */
  readonly layout: Readonly<Record<string, string>>;
  readonly files: readonly ManifestFile[];
  /** Bytes on disk. */
  readonly size: number;
  readonly sampleRate?: number;
  readonly voices?: readonly Voice[];
  /** How many speakers an imported voice holds (its ONNX `n_speakers`); catalog models take the catalog's. */
  readonly speakerCount?: number;
  readonly defaultVoice?: string;
  readonly options?: Readonly<Record<string, string | number | boolean>>;
  /** ISO 8601. */
  readonly pulledAt: string;
  /**
   * Set for a model imported by reference (`murmur pull --link FILE`): the
   * absolute path of the file, which the model's directory holds as a
   * symlink instead of a copy.
   */
  readonly linked?: string;
}

export interface InstalledModel extends Manifest {
  /** Absolute path of the model's directory. */
  readonly dir: string;
}

/** Progress of a pull, reported through `onProgress`; the CLI draws bars, the server streams them. */
export type PullEvent =
  | { readonly status: 'resolving'; readonly model: string }
  | {
      readonly status: 'downloading';
      readonly model: string;
      readonly file: string;
      readonly completed: number;
      /** Undefined when the server does not say. */
      readonly total?: number;
    }
  | { readonly status: 'verifying'; readonly model: string; readonly file: string }
  | { readonly status: 'extracting'; readonly model: string; readonly file: string }
  | { readonly status: 'waiting'; readonly model: string; readonly reason: string }
  | { readonly status: 'success'; readonly model: string; readonly path: string; readonly reused: boolean };

/**
 * What a pull a client asked for over HTTP may do (the CLI's own pulls have
 * no such bounds): URLs only on the catalog's hosts and `hosts`, public
 * addresses only unless the host is listed, local paths only inside
 * `importDirs`.
 */
export interface PullRestriction {
  /** MURMUR_PULL_HOSTS; '*' allows any public host. */
  readonly hosts: readonly string[];
  /** MURMUR_IMPORT_DIRS, absolute. */
  readonly importDirs: readonly string[];
}

export interface PullOptions {
  /** Set by the daemon for pulls asked over HTTP. */
  readonly restrict?: PullRestriction;
  /** Download again even when installed. */
  readonly force?: boolean;
  /** The name to install under (required for imports of local files with an ambiguous name). */
  readonly name?: string;
  /** Import a local file by reference: the store keeps a symlink to its absolute path instead of a copy. */
  readonly link?: boolean;
  readonly onProgress?: (event: PullEvent) => void;
  readonly signal?: AbortSignal;
}

export interface Store {
  /** `<home>/models`. */
  readonly root: string;
  list(): Promise<InstalledModel[]>;
  /** The installed model named `name` (or one of its aliases), or undefined. */
  get(name: string): Promise<InstalledModel | undefined>;
  /** Like get, but throws ModelNotDownloadedError (known name) or ModelNotFoundError. */
  require(name: string): Promise<InstalledModel>;
  /** Downloads (or imports) a model; returns it installed, complete and verified. */
  pull(ref: string, options?: PullOptions): Promise<InstalledModel>;
  /** Removes an installed model; throws ModelNotDownloadedError when absent. */
  remove(name: string): Promise<void>;
  /**
   * Installs `source` again under the name `destination`: the same manifest
   * (a new pulledAt) over hard links of its files, so either can be removed
   * without the other. Throws like require for a missing source,
   * `model_exists` when `destination` is installed, `usage` for a bad name.
   */
  copy(source: string, destination: string): Promise<InstalledModel>;
}
