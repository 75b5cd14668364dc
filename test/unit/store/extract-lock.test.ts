import { execFileSync } from 'node:child_process';
import { lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { archiveTypeOf, extractArchive } from '../../../src/store/extract.js';
import { withLock } from '../../../src/store/lock.js';

const temp = (prefix: string) => mkdtempSync(join(tmpdir(), prefix));

/** Makes `name.<ext>` holding top/{a.txt, sub/b.txt} with the system tar. */
const makeArchive = (flags: string, ext: string): string => {
  const work = temp('murmur-tar-');
  mkdirSync(join(work, 'top', 'sub'), { recursive: true });
  writeFileSync(join(work, 'top', 'a.txt'), 'alpha\n');
  writeFileSync(join(work, 'top', 'sub', 'b.txt'), 'beta\n');
  const file = join(work, `model.${ext}`);
  execFileSync('tar', [flags, file, '-C', work, 'top']);
  return file;
};

describe('extractArchive', () => {
  for (const [flags, ext] of [['-cjf', 'tar.bz2'], ['-czf', 'tar.gz'], ['-cf', 'tar']] as const) {
    it(`unpacks a .${ext}, stripping the top folder`, async () => {
      const dest = temp('murmur-dest-');
      const names = await extractArchive(makeArchive(flags, ext), archiveTypeOf(`x.${ext}`)!, dest, `model.${ext}`);
      expect(names.sort()).toEqual(['a.txt', 'sub']);
      expect(readdirSync(dest).sort()).toEqual(['a.txt', 'sub']);
      expect(readFileSync(join(dest, 'sub', 'b.txt'), 'utf8')).toBe('beta\n');
    });
  }
  it('rejects a gzip stream handed in as tar.bz2 and leaves nothing behind', async () => {
    const dest = temp('murmur-dest-');
    await expect(extractArchive(makeArchive('-czf', 'tar.gz'), 'tar.bz2', dest, 'x.tar.bz2')).rejects.toMatchObject({ code: 'archive_invalid' });
    expect(readdirSync(dest)).toEqual([]);
  });
  it('keeps entries inside the target', async () => {
    const work = temp('murmur-evil-');
    mkdirSync(join(work, 'top'));
    writeFileSync(join(work, 'top', 'ok.txt'), 'ok\n');
    writeFileSync(join(work, 'evil.txt'), 'evil\n');
    const file = join(work, 'evil.tar');
    execFileSync('tar', ['-cf', file, '-C', work, 'top', '-C', join(work, 'top'), '../evil.txt', '--absolute-names']);
    const dest = join(temp('murmur-dest-'), 'inner');
    mkdirSync(dest);
    await extractArchive(file, 'tar', dest, 'evil.tar').catch(() => undefined);
    expect(readdirSync(join(dest, '..'))).toEqual(['inner']);
    expect(readdirSync(dest).filter((name) => name !== 'ok.txt')).toEqual([]);
  });
});

describe('extractArchive and links', () => {
  const linked = (links: Record<string, string>): string => {
    const work = temp('murmur-links-');
    mkdirSync(join(work, 'top', 'sub'), { recursive: true });
    writeFileSync(join(work, 'top', 'a.txt'), 'alpha\n');
    for (const [name, target] of Object.entries(links)) symlinkSync(target, join(work, 'top', name));
    const file = join(work, 'links.tar');
    execFileSync('tar', ['-cf', file, '-C', work, 'top']);
    return file;
  };

  it('keeps links that stay inside the model directory', async () => {
    const dest = temp('murmur-dest-');
    await extractArchive(linked({ alias: 'a.txt', 'sub/up': '../a.txt', self: '.' }), 'tar', dest, 'links.tar');
    expect(lstatSync(join(dest, 'alias')).isSymbolicLink()).toBe(true);
    expect(readlinkSync(join(dest, 'sub', 'up'))).toBe('../a.txt');
    expect(readFileSync(join(dest, 'sub', 'up'), 'utf8')).toBe('alpha\n');
  });

  it('refuses an absolute link and one that climbs out, naming the entry, and leaves dest empty', async () => {
    for (const [links, message] of [
      [{ evil: '/etc/passwd' }, 'links.tar contains a link to an absolute path (top/evil → /etc/passwd)'],
      [{ 'sub/evil': '../../other/x' }, "links.tar contains a link that leads outside the model's directory (top/sub/evil → ../../other/x)"],
      [{ evil: '..' }, "links.tar contains a link that leads outside the model's directory (top/evil → ..)"],
    ] as const) {
      const dest = temp('murmur-dest-');
      await expect(extractArchive(linked(links), 'tar', dest, 'links.tar')).rejects.toMatchObject({ code: 'archive_invalid', message: expect.stringContaining(message) });
      expect(readdirSync(dest)).toEqual([]);
    }
  });
});

describe('withLock', () => {
  it('serializes holders of one name and reports waiting', async () => {
    const locks = temp('murmur-locks-');
    const order: string[] = [];
    let waited = 0;
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    const first = withLock(locks, 'm', async () => {
      order.push('first-start');
      await gate;
      order.push('first-end');
    });
    await new Promise((r) => setTimeout(r, 50));
    const second = withLock(locks, 'm', async () => order.push('second'), () => waited++);
    await new Promise((r) => setTimeout(r, 100));
    release();
    await Promise.all([first, second]);
    expect(order).toEqual(['first-start', 'first-end', 'second']);
    expect(waited).toBe(1);
  });
  it('takes over a stale lock left by a crashed process', async () => {
    const locks = temp('murmur-locks-');
    mkdirSync(join(locks, 'm.lock'));
    const old = new Date(Date.now() - 60_000);
    utimesSync(join(locks, 'm.lock'), old, old);
    let waited = 0;
    await expect(withLock(locks, 'm', async () => 'ran', () => waited++)).resolves.toBe('ran');
    expect(waited).toBe(0);
  });
});
