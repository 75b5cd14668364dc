import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { unlessCi } from '../helpers/ci.js';
import { builtBin, runCli } from '../helpers/daemon.js';

const root = mkdtempSync(join(tmpdir(), 'murmur-service-'));
const home = join(root, 'home');
const fakeBin = join(root, 'bin');
const calls = join(root, 'systemctl-calls');
mkdirSync(home, { recursive: true });
mkdirSync(fakeBin, { recursive: true });
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A systemctl that records its arguments, one call a line. */
const fakeSystemctl = () => {
  const path = join(fakeBin, 'systemctl');
  writeFileSync(path, `#!/bin/sh\necho "$*" >> '${calls}'\n`);
  chmodSync(path, 0o755);
};

const env = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
  HOME: home,
  PATH: fakeBin,
  MURMUR_HOST: 'http://127.0.0.1:11471',
  MURMUR_HOME: join(root, 'store with space'),
  MURMUR_API_KEY: 'k%e"y',
  ...extra,
});
const defaultUnit = join(home, '.config', 'systemd', 'user', 'murmur.service');
// The unit is systemd's: macOS and Windows have no such place (the verb says so). CI is Linux, so these never skip there.
const linux = !unlessCi(process.platform === 'linux' ? undefined : 'systemd user units are Linux only');

describe('murmur service', () => {
  it('--print prints a unit for `murmur serve` with absolute node and murmur, the MURMUR_* settings, and writes nothing', async () => {
    const { stdout } = await runCli(env({ OTHER: 'not captured' }), 'service', 'install', '--print', '--grace', '30s');
    expect(stdout).toContain(`ExecStart="${process.execPath}" "${realpathSync(builtBin)}" "serve" "--grace" "30s"\n`);
    expect(stdout).toContain('Environment="MURMUR_HOST=http://127.0.0.1:11471"\n');
    expect(stdout).toContain(`Environment="MURMUR_HOME=${join(root, 'store with space')}"\n`);
    // systemd's quoting: \\" for a quote, %% for a per cent sign.
    expect(stdout).toContain('Environment="MURMUR_API_KEY=k%%e\\"y"\n');
    expect(stdout).not.toContain('OTHER');
    expect(stdout).toMatch(/^Restart=on-failure$/m);
    expect(stdout).toMatch(/^KillSignal=SIGTERM$/m);
    expect(stdout).toMatch(/^TimeoutStopSec=45$/m);
    expect(stdout).toMatch(/^WantedBy=default\.target$/m);
    expect(existsSync(defaultUnit)).toBe(false);
  });

  it.skipIf(!linux)('install writes ~/.config/systemd/user/murmur.service (0600) and says how to enable it; uninstall disables and removes it', async () => {
    const installed = await runCli(env(), 'service', 'install');
    expect(installed.stderr).toContain(`murmur: wrote ${defaultUnit}`);
    expect(installed.stderr).toContain('systemctl --user daemon-reload && systemctl --user enable --now murmur');
    expect(installed.stderr).toMatch(/systemctl is not on PATH/);
    expect(readFileSync(defaultUnit, 'utf8')).toContain('Environment="MURMUR_HOST=http://127.0.0.1:11471"');
    expect(statSync(defaultUnit).mode & 0o777).toBe(0o600);
    expect((await runCli(env(), 'service', 'install')).stderr).toContain(`murmur: kept ${defaultUnit}`);

    // Without systemctl: it says what to run first, and removes the unit.
    const removed = await runCli(env(), 'service', 'uninstall');
    expect(removed.stderr).toContain(`murmur: removed ${defaultUnit}`);
    expect(removed.stderr).toContain('systemctl --user disable --now murmur');
    expect(existsSync(defaultUnit)).toBe(false);
    expect((await runCli(env(), 'service', 'uninstall')).stderr).toMatch(/nothing to uninstall/);

    // With systemctl: it disables the unit itself, then reloads.
    await runCli(env(), 'service', 'install');
    fakeSystemctl();
    const printed = await runCli(env(), 'service', 'uninstall', '--print');
    expect(printed.stderr).toContain('would run: systemctl --user disable --now murmur');
    expect(existsSync(defaultUnit)).toBe(true);
    expect(existsSync(calls)).toBe(false);
    await runCli(env(), 'service', 'uninstall');
    expect(readFileSync(calls, 'utf8')).toBe('--user disable --now murmur\n--user daemon-reload\n');
    expect(existsSync(defaultUnit)).toBe(false);
    rmSync(join(fakeBin, 'systemctl'));
  });

  it.skipIf(!linux)('respects XDG_CONFIG_HOME', async () => {
    const xdg = join(root, 'xdg');
    await runCli(env({ XDG_CONFIG_HOME: xdg }), 'service', 'install');
    expect(existsSync(join(xdg, 'systemd', 'user', 'murmur.service'))).toBe(true);
    expect(existsSync(defaultUnit)).toBe(false);
    await runCli(env({ XDG_CONFIG_HOME: xdg }), 'service', 'uninstall');
    expect(existsSync(join(xdg, 'systemd', 'user', 'murmur.service'))).toBe(false);
  });

  it('a word other than install or uninstall is a usage error (exit 2) in one line', async () => {
    const failed = await runCli(env(), 'service', 'start').catch((e: { code: number; stderr: string }) => e);
    expect(failed).toMatchObject({ code: 2, stderr: expect.stringMatching(/^murmur: service takes install or uninstall, not 'start'\./) });
  });

  const noAnalyze = unlessCi(spawnSync('sh', ['-c', 'command -v systemd-analyze'], { encoding: 'utf8' }).stdout.trim() ? undefined : 'systemd-analyze is not installed here (apt-get install systemd)');
  it.skipIf(noAnalyze)(`systemd-analyze verify accepts the unit${noAnalyze ? ` (skipped: ${noAnalyze})` : ''}`, async () => {
    const dir = join(root, 'verify');
    const runtimeDir = join(root, 'runtime');
    mkdirSync(dir, { recursive: true });
    mkdirSync(runtimeDir, { recursive: true, mode: 0o700 });
    const unit = join(dir, 'murmur.service');
    writeFileSync(unit, (await runCli(env(), 'service', 'install', '--print')).stdout);
    // It warns (exit 0) about settings it cannot parse, and fails on an ExecStart that is not executable: both count.
    const result = spawnSync('systemd-analyze', ['--user', 'verify', '--man=no', unit], { encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: runtimeDir } });
    expect(`${result.stdout}${result.stderr}`.trim()).toBe('');
    expect(result.status).toBe(0);
    // And it is a check that can fail: a broken unit is reported.
    writeFileSync(unit, readFileSync(unit, 'utf8').replace('Restart=on-failure', 'Restart=sometimes'));
    const broken = spawnSync('systemd-analyze', ['--user', 'verify', '--man=no', unit], { encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: runtimeDir } });
    expect(`${broken.stdout}${broken.stderr}`).toMatch(/restart/i);
  });
});
