import { chmodSync, existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import type BetterSqlite3 from 'better-sqlite3';
import type { ResponseItem } from '../api/openai/responses-items.js';
import type { ResponseObject } from '../api/openai/responses-response.js';
import type { Config } from '../config.js';
import { AppError } from '../errors.js';

/*
 * Stored responses of /v1/responses, in SQLite (better-sqlite3) at
 * MURMUR_HOME/responses.db, so they outlive the daemon.
 *
 * Two tables. `responses` holds one row per response: its id, the hash of
 * the key that made it (owner; NULL on a daemon without a key), the
 * previous_response_id it continues, when it was stored (for the age and
 * count limits, indexed), its status and its JSON body less its output.
 * `items` holds the input and output items of each response, one row per
 * item in order, as JSON, keyed (response, output?, position) and indexed
 * by item id. So the three reads are each one indexed query: GET joins a
 * response's body with its output items; a conversation (the items of a
 * response and all the ones it continues) is one recursive query over
 * previous ids, oldest first, that never parses bodies; and input_items
 * pages by position from an item id. No text is stored twice.
 *
 * WAL journal, synchronous=NORMAL: each response (row and items) is
 * written in one transaction, which survives a crash of the daemon once
 * committed; an OS crash may lose the last commits, never corrupt the
 * file. The database opens lazily (or at `open()`); a file that cannot be
 * opened or written (corrupt, read-only) makes every call fail with
 * storage_unavailable naming the file, and the daemon serves on.
 */

export interface ResponseStoreOptions {
  /** The database file. */
  readonly file: string;
  /** Responses kept at most; the oldest are deleted past it. */
  readonly maxResponses: number;
  /** How long a response is kept, in ms; -1 for no limit. */
  readonly ttlMs: number;
  /** The clock, in ms (tests move it). */
  readonly now?: () => number;
}

export interface InputItemsQuery {
  readonly after?: string;
  readonly before?: string;
  readonly limit: number;
  readonly order: 'asc' | 'desc';
}

export interface InputItemsPage {
  readonly data: ResponseItem[];
  readonly has_more: boolean;
}

export interface ResponseStore {
  readonly file: string;
  /** Opens the database now (it opens on first use otherwise); throws storage_unavailable naming the file, as every later call then does. */
  open(): void;
  /** Stores a new response with its input items (and output items, if it has them), then drops what is past the limits. */
  insert(response: ResponseObject, input: readonly ResponseItem[], owner: string | null): void;
  /** Replaces a stored response's body and output items (a background response moving on); false when it is gone. */
  update(response: ResponseObject): boolean;
  /** The response, when it exists, is within the age limit and `owner` made it. */
  get(id: string, owner: string | null): ResponseObject | undefined;
  /** Deletes the response; false when there is none of `owner`'s. */
  remove(id: string, owner: string | null): boolean;
  /** The conversation a response closes: the input and output items of it and of every response it continues, oldest first. */
  conversation(id: string, owner: string | null): ResponseItem[];
  /** Stored items of `owner`'s responses by item id (for item_reference); missing ids are left out. */
  items(ids: readonly string[], owner: string | null): Map<string, ResponseItem>;
  /** A page of a response's input items; undefined when there is no such response of `owner`'s; a cursor id it does not hold is a 400. */
  inputItems(id: string, owner: string | null, query: InputItemsQuery): InputItemsPage | undefined;
  close(): void;
}

const SCHEMA_VERSION = 1;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS responses (
  id TEXT PRIMARY KEY,
  owner TEXT,
  previous_id TEXT,
  stored_ms INTEGER NOT NULL,
  status TEXT NOT NULL,
  body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS responses_by_age ON responses (stored_ms);
CREATE TABLE IF NOT EXISTS items (
  response_id TEXT NOT NULL REFERENCES responses (id) ON DELETE CASCADE,
  output INTEGER NOT NULL,
  position INTEGER NOT NULL,
  id TEXT NOT NULL,
  body TEXT NOT NULL,
  PRIMARY KEY (response_id, output, position)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS items_by_id ON items (id);
`;

const INTERRUPTED = JSON.stringify({ code: 'server_error', message: 'The daemon stopped before this response finished.' });

type Db = BetterSqlite3.Database;

const unavailable = (file: string, error: unknown): AppError => {
  const reason = error instanceof AppError ? error.message : `${(error as Error).message}${(error as { code?: string }).code ? ` (${(error as { code?: string }).code})` : ''}`;
  return new AppError('storage_unavailable', `Stored responses are unavailable: the database ${file} cannot be used: ${reason}.`, {
    hint: 'Requests with store: false still work. Move the file away to start an empty one (what it holds is lost), or make it writable, then restart the daemon.',
    cause: error,
  });
};

/** A response store over SQLite at `options.file`; nothing is opened (nor better-sqlite3 loaded) until it is used. */
export const createResponseStore = (options: ResponseStoreOptions): ResponseStore => {
  const { file } = options;
  const now = options.now ?? Date.now;
  let db: Db | undefined;
  let failure: AppError | undefined;
  let statements: ReturnType<typeof prepare> | undefined;

  const prepare = (d: Db) => ({
    insert: d.prepare('INSERT INTO responses (id, owner, previous_id, stored_ms, status, body) VALUES (?, ?, ?, ?, ?, ?)'),
    update: d.prepare('UPDATE responses SET status = ?, body = ? WHERE id = ?'),
    item: d.prepare('INSERT INTO items (response_id, output, position, id, body) VALUES (?, ?, ?, ?, ?)'),
    dropOutput: d.prepare('DELETE FROM items WHERE response_id = ? AND output = 1'),
    get: d.prepare<[string, string | null, number], { body: string }>('SELECT body FROM responses WHERE id = ? AND owner IS ? AND stored_ms >= ?'),
    output: d.prepare<[string], { body: string }>('SELECT body FROM items WHERE response_id = ? AND output = 1 ORDER BY position'),
    remove: d.prepare('DELETE FROM responses WHERE id = ? AND owner IS ?'),
    expire: d.prepare('DELETE FROM responses WHERE stored_ms < ?'),
    count: d.prepare<[], { n: number }>('SELECT count(*) AS n FROM responses'),
    evict: d.prepare('DELETE FROM responses WHERE rowid IN (SELECT rowid FROM responses ORDER BY stored_ms, rowid LIMIT ?)'),
    conversation: d.prepare<[string, string | null], { body: string }>(`
      WITH RECURSIVE chain (id, previous_id, depth) AS (
        SELECT id, previous_id, 0 FROM responses WHERE id = ? AND owner IS ?
        UNION ALL
        SELECT r.id, r.previous_id, chain.depth + 1 FROM responses r JOIN chain ON r.id = chain.previous_id WHERE chain.depth < 100000
      )
      SELECT items.body FROM chain JOIN items ON items.response_id = chain.id ORDER BY chain.depth DESC, items.output, items.position`),
    byItemId: d.prepare<[string, string | null], { body: string }>('SELECT items.body FROM items JOIN responses r ON r.id = items.response_id WHERE items.id = ? AND r.owner IS ? LIMIT 1'),
    position: d.prepare<[string, string], { position: number }>('SELECT position FROM items WHERE response_id = ? AND output = 0 AND id = ?'),
    pageUp: d.prepare<[string, number, number, number], { body: string }>('SELECT body FROM items WHERE response_id = ? AND output = 0 AND position > ? AND position < ? ORDER BY position ASC LIMIT ?'),
    pageDown: d.prepare<[string, number, number, number], { body: string }>('SELECT body FROM items WHERE response_id = ? AND output = 0 AND position > ? AND position < ? ORDER BY position DESC LIMIT ?'),
  });

  const connect = (): Db => {
    const created = !existsSync(file);
    if (created) mkdirSync(dirname(file), { recursive: true });
    const Database = createRequire(import.meta.url)('better-sqlite3') as typeof BetterSqlite3;
    const d = new Database(file, { timeout: 5000 });
    try {
      // Conversations are private: a new file is readable by its owner alone (SQLite gives the -wal and -shm files the same mode).
      if (created) chmodSync(file, 0o600);
      d.pragma('journal_mode = WAL');
      d.pragma('synchronous = NORMAL');
      d.pragma('foreign_keys = ON');
      const version = d.pragma('user_version', { simple: true }) as number;
      if (version > SCHEMA_VERSION) throw new AppError('storage_unavailable', `it was written by a newer murmur (schema ${version}, this one reads ${SCHEMA_VERSION})`);
      d.exec(SCHEMA);
      if (version < SCHEMA_VERSION) d.pragma(`user_version = ${SCHEMA_VERSION}`);
      // Background responses still running when the daemon last stopped never finish: they failed. (This write also finds a read-only file now, not at the first request.)
      d.prepare(`UPDATE responses SET status = 'failed', body = json_set(body, '$.status', 'failed', '$.error', json(?)) WHERE status IN ('queued', 'in_progress')`).run(INTERRUPTED);
      return d;
    } catch (error) {
      d.close();
      throw error;
    }
  };

  const use = <T>(work: (d: Db, s: NonNullable<typeof statements>) => T): T => {
    if (failure) throw failure;
    try {
      if (!db) {
        db = connect();
        statements = prepare(db);
        prune(db, statements);
      }
      return work(db, statements!);
    } catch (error) {
      if (error instanceof AppError && error.code !== 'storage_unavailable') throw error;
      const wrapped = unavailable(file, error);
      // A database that never opened stays closed; one that fails later (a full disk) is tried again on the next call.
      if (!statements) failure = wrapped;
      throw wrapped;
    }
  };

  const cutoff = () => (options.ttlMs < 0 ? Number.MIN_SAFE_INTEGER : now() - options.ttlMs);
  const prune = (_d: Db, s: NonNullable<typeof statements>) => {
    if (options.ttlMs >= 0) s.expire.run(cutoff());
    const over = s.count.get()!.n - options.maxResponses;
    if (over > 0) s.evict.run(over);
  };

  const bodyOf = (response: ResponseObject) => JSON.stringify({ ...response, output: [] });
  const writeOutput = (s: NonNullable<typeof statements>, response: ResponseObject) =>
    response.output.forEach((item, position) => s.item.run(response.id, 1, position, item.id, JSON.stringify(item)));

  let insertTx: ((response: ResponseObject, input: readonly ResponseItem[], owner: string | null) => void) | undefined;
  let updateTx: ((response: ResponseObject) => boolean) | undefined;

  return {
    file,
    open: () => use(() => undefined),
    insert: (response, input, owner) =>
      use((d, s) => {
        insertTx ??= d.transaction((r: ResponseObject, items: readonly ResponseItem[], who: string | null) => {
          s.insert.run(r.id, who, r.previous_response_id, now(), r.status, bodyOf(r));
          items.forEach((item, position) => s.item.run(r.id, 0, position, item.id, JSON.stringify(item)));
          writeOutput(s, r);
          prune(d, s);
        });
        insertTx(response, input, owner);
      }),
    update: (response) =>
      use((d, s) => {
        updateTx ??= d.transaction((r: ResponseObject) => {
          if (s.update.run(r.status, bodyOf(r), r.id).changes === 0) return false;
          s.dropOutput.run(r.id);
          writeOutput(s, r);
          return true;
        });
        return updateTx(response);
      }),
    get: (id, owner) =>
      use((_d, s) => {
        const row = s.get.get(id, owner, cutoff());
        if (!row) return undefined;
        const response = JSON.parse(row.body) as ResponseObject;
        return { ...response, output: s.output.all(id).map((item) => JSON.parse(item.body) as ResponseItem) };
      }),
    remove: (id, owner) => use((_d, s) => s.remove.run(id, owner).changes > 0),
    conversation: (id, owner) => use((_d, s) => s.conversation.all(id, owner).map((row) => JSON.parse(row.body) as ResponseItem)),
    items: (ids, owner) =>
      use((_d, s) => {
        const found = new Map<string, ResponseItem>();
        for (const id of ids) {
          const row = s.byItemId.get(id, owner);
          if (row) found.set(id, JSON.parse(row.body) as ResponseItem);
        }
        return found;
      }),
    inputItems: (id, owner, query) =>
      use((_d, s) => {
        if (!s.get.get(id, owner, cutoff())) return undefined;
        const at = (cursor: string | undefined, param: 'after' | 'before') => {
          if (cursor === undefined) return undefined;
          const row = s.position.get(id, cursor);
          if (!row) throw new AppError('invalid_request', `Response '${id}' has no input item '${cursor}'.`, { param });
          return row.position;
        };
        const after = at(query.after, 'after');
        const before = at(query.before, 'before');
        // In position terms: asc pages move up from `after`, desc pages move down from it; `before` bounds the other side.
        const low = query.order === 'asc' ? (after ?? -1) : (before ?? -1);
        const high = query.order === 'asc' ? (before ?? Number.MAX_SAFE_INTEGER) : (after ?? Number.MAX_SAFE_INTEGER);
        // With only `before`, the page is the items just before it: read from the cursor outwards, then put back in order.
        const nearBefore = before !== undefined && after === undefined;
        const ascending = query.order === 'asc' ? !nearBefore : nearBefore;
        const rows = (ascending ? s.pageUp : s.pageDown).all(id, low, high, query.limit + 1);
        const has_more = rows.length > query.limit;
        const page = rows.slice(0, query.limit).map((row) => JSON.parse(row.body) as ResponseItem);
        return { data: nearBefore ? page.reverse() : page, has_more };
      }),
    close: () => {
      db?.close();
      db = undefined;
      statements = undefined;
      insertTx = undefined;
      updateTx = undefined;
      failure ??= new AppError('stopping', 'The daemon is shutting down; it stores no more responses.', { hint: 'Try again once it is back (Retry-After).' });
    },
  };
};

/** The daemon's store: MURMUR_HOME/responses.db with the MURMUR_RESPONSES_MAX and MURMUR_RESPONSES_TTL limits. */
export const defaultResponseStore = (config: Pick<Config, 'home' | 'responsesMax' | 'responsesTtlMs'>): ResponseStore =>
  createResponseStore({ file: join(config.home, 'responses.db'), maxResponses: config.responsesMax ?? 10_000, ttlMs: config.responsesTtlMs ?? 30 * 86_400_000 });
