import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { afterAll, describe, expect, it } from 'vitest';
import type { ResponseItem } from '../../../src/api/openai/responses-items.js';
import { toResponseShell, type ResponseObject } from '../../../src/api/openai/responses-response.js';
import { createResponseStore, type ResponseStoreOptions } from '../../../src/server/responses-store.js';

/*
 * The SQLite store of /v1/responses on real files: what it keeps and
 * gives back, its count and age limits, conversations over
 * previous_response_id, paging, one transaction per response, and files
 * it cannot use (corrupt, read-only, from a newer murmur), which it names.
 */

const dirs: string[] = [];
const immutable: string[] = [];
afterAll(() => {
  for (const file of immutable) execFileSync('chattr', ['-i', file]);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});
const tempFile = () => {
  const dir = mkdtempSync(join(tmpdir(), 'murmur-store-'));
  dirs.push(dir);
  return join(dir, 'responses.db');
};

const open = (options: Partial<ResponseStoreOptions> = {}) => createResponseStore({ file: tempFile(), maxResponses: 100, ttlMs: -1, ...options });

const message = (id: string, text: string, role: 'user' | 'assistant' = 'user'): ResponseItem =>
  role === 'user'
    ? { type: 'message', id, role, status: 'completed', content: [{ type: 'input_text', text }] }
    : { type: 'message', id, role, status: 'completed', content: [{ type: 'output_text', text, annotations: [] }] };

const response = (output: ResponseItem[] = [], previous: string | null = null): ResponseObject => ({
  ...toResponseShell({ model: 'tiny', previous_response_id: previous }),
  status: 'completed',
  output,
});

describe('the responses store', () => {
  it('gives back what it keeps, only to its owner, and deletes it', () => {
    const store = open();
    const stored = response([message('msg_out', 'hello', 'assistant')]);
    store.insert(stored, [message('msg_in', 'hi')], 'owner-a');
    expect(store.get(stored.id, 'owner-a')).toEqual(stored);
    expect(store.get(stored.id, 'owner-b')).toBeUndefined();
    expect(store.get(stored.id, null)).toBeUndefined();
    expect(store.remove(stored.id, 'owner-b')).toBe(false);
    expect(store.remove(stored.id, 'owner-a')).toBe(true);
    expect(store.get(stored.id, 'owner-a')).toBeUndefined();
    expect(store.items(['msg_out'], 'owner-a').size).toBe(0);
  });

  it('keeps it across reopening, and updates a running one', () => {
    const file = tempFile();
    const first = createResponseStore({ file, maxResponses: 10, ttlMs: -1 });
    const running = { ...response(), status: 'in_progress' as const, background: true };
    first.insert(running, [message('msg_1', 'x')], null);
    expect(first.update({ ...running, status: 'completed', output: [message('msg_2', 'done', 'assistant')] })).toBe(true);
    expect(first.update({ ...response(), id: 'resp_gone' })).toBe(false);
    first.close();
    const again = createResponseStore({ file, maxResponses: 10, ttlMs: -1 });
    expect(again.get(running.id, null)).toMatchObject({ status: 'completed', output: [{ id: 'msg_2' }] });
    expect(statSync(file).mode & 0o777).toBe(0o600);
  });

  it('marks background responses a stopped daemon left running as failed', () => {
    const file = tempFile();
    const first = createResponseStore({ file, maxResponses: 10, ttlMs: -1 });
    const queued = { ...response(), status: 'queued' as const, background: true };
    first.insert(queued, [], null);
    // No close(): as if the daemon was killed.
    const again = createResponseStore({ file, maxResponses: 10, ttlMs: -1 });
    expect(again.get(queued.id, null)).toMatchObject({ status: 'failed', error: { code: 'server_error', message: expect.stringMatching(/stopped before/) } });
  });

  it('deletes the oldest past the count, and what is past the age', () => {
    let now = 1_000_000;
    const store = open({ maxResponses: 3, ttlMs: 60_000, now: () => now });
    const ids = Array.from({ length: 5 }, () => {
      const r = response();
      store.insert(r, [], null);
      now += 1000;
      return r.id;
    });
    expect(ids.map((id) => store.get(id, null) !== undefined)).toEqual([false, false, true, true, true]);
    now += 57_500;
    // Past its age a response is gone to readers at once, and deleted at the next write.
    expect(ids.map((id) => store.get(id, null) !== undefined)).toEqual([false, false, false, true, true]);
    now += 10_000;
    store.insert(response(), [], null);
    expect(ids.map((id) => store.get(id, null) !== undefined)).toEqual([false, false, false, false, false]);
  });

  it('reads a conversation back over previous_response_id, oldest first', () => {
    const store = open();
    let previous: string | null = null;
    for (let turn = 0; turn < 50; turn++) {
      const r = response([message(`msg_a${turn}`, `answer ${turn}`, 'assistant')], previous);
      store.insert(r, [message(`msg_q${turn}`, `question ${turn}`)], 'me');
      previous = r.id;
    }
    const items = store.conversation(previous!, 'me');
    expect(items).toHaveLength(100);
    expect(items.slice(0, 4).map((item) => item.id)).toEqual(['msg_q0', 'msg_a0', 'msg_q1', 'msg_a1']);
    expect(items.at(-1)!.id).toBe('msg_a49');
    expect(store.conversation(previous!, 'someone else')).toEqual([]);
  });

  it('writes a response in one transaction: a failure half-way keeps nothing of it', () => {
    const store = open();
    const r = response();
    const poisoned = { ...message('msg_2', 'x'), extra: 10n } as unknown as ResponseItem;
    expect(() => store.insert(r, [message('msg_1', 'x'), poisoned], null)).toThrow();
    expect(store.get(r.id, null)).toBeUndefined();
    expect(store.items(['msg_1'], null).size).toBe(0);
    store.insert(r, [message('msg_1', 'x')], null);
    expect(store.get(r.id, null)).toBeDefined();
  });

  it('closed at shutdown, it says the daemon is stopping (503 stopping), not that storage is broken', () => {
    const store = open();
    store.open();
    store.close();
    expect(() => store.insert(response(), [], null)).toThrow(expect.objectContaining({ code: 'stopping' }));
  });

  it('uses WAL', () => {
    const store = open();
    store.open();
    const Database = createRequire(import.meta.url)('better-sqlite3') as typeof import('better-sqlite3');
    const db = new Database(store.file, { readonly: true });
    expect(db.pragma('journal_mode', { simple: true })).toBe('wal');
    db.close();
  });
});

describe('a database file it cannot use', () => {
  const expectUnavailable = (store: ReturnType<typeof open>, reason: RegExp) => {
    for (const attempt of [() => store.open(), () => store.get('resp_x', null), () => store.insert(response(), [], null)]) {
      expect(attempt).toThrow(expect.objectContaining({ code: 'storage_unavailable', message: expect.stringContaining(store.file) }));
      expect(attempt).toThrow(reason);
    }
  };

  it('is corrupt', () => {
    const file = tempFile();
    writeFileSync(file, 'these bytes are no database '.repeat(200));
    expectUnavailable(createResponseStore({ file, maxResponses: 10, ttlMs: -1 }), /not a database/);
  });

  it('was written by a newer murmur', () => {
    const file = tempFile();
    const Database = createRequire(import.meta.url)('better-sqlite3') as typeof import('better-sqlite3');
    const db = new Database(file);
    db.pragma('user_version = 99');
    db.close();
    expectUnavailable(createResponseStore({ file, maxResponses: 10, ttlMs: -1 }), /newer murmur/);
  });

  const canMakeImmutable = (() => {
    try {
      const probe = tempFile();
      writeFileSync(probe, '');
      execFileSync('chattr', ['+i', probe], { stdio: 'ignore' });
      execFileSync('chattr', ['-i', probe], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  })();

  // Tests run as root, where chmod stops nothing: an immutable file (chattr +i) is one root cannot write.
  it.skipIf(!canMakeImmutable)('is read-only', () => {
    const file = tempFile();
    const first = createResponseStore({ file, maxResponses: 10, ttlMs: -1 });
    first.insert(response(), [], null);
    first.close();
    execFileSync('chattr', ['+i', file]);
    immutable.push(file);
    expectUnavailable(createResponseStore({ file, maxResponses: 10, ttlMs: -1 }), /readonly/);
  });
});
