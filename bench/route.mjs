#!/usr/bin/env node
// bench/route.mjs: a front daemon routing a model to real murmur daemons
// as upstreams (issue 17's figures). Three upstream daemons (a, b, c), each
// with its own store and stories260K pulled as `tiny` (a also as `solo`),
// and a front `murmur serve --config` routing `solo` to a and `tiny` to the
// replicas [a, b, c], health checked every --health-interval.
//  1. Through the front vs to a directly, `solo`, in paired rounds that
//     alternate which goes first; medians: streaming tokens/s (goal ≥ 0.95×)
//     and first token (goal ≤ +3 ms); a non-streamed reply's latency with
//     few tokens (goal ≤ +2 ms).
//  2. 32 concurrent streams of `tiny` over the three replicas, c killed
//     (SIGKILL, its engine processes with it) mid-run: which streams failed
//     (goal: only those c was serving, each ended by an error event), whether
//     every request started after the kill succeeded and how soon the first
//     one's first token came (goal ≤ 1 s; at the upstreams' default
//     --parallel 4 that includes their queue, --parallel 16 leaves none);
//     then c restarted on its port, and the time from its
//     listening to the front reporting it healthy (goal ≤ one health interval).
//  3. A soak: 64 concurrent streams through the front for --soak-seconds,
//     errors by kind (the upstreams' own 503 'overloaded' allowed; they run
//     with --max-queue 64 so 64 streams fit), and the front's RSS every 5 s:
//     start, peak, end and the slope of the last 2/3 (goal: flat, the fitted
//     growth over that window ≤ 5%).
// Reports; the exit code says only whether it ran.
//
//   npx tsc -p tsconfig.json && node bench/route.mjs [--runs 21] [--warmup 5] [--tokens 200]
//     [--soak-seconds 300] [--health-interval 2] [--failover-tokens 256] [--parallel 4] [--model path.gguf]
//   (--parallel is the upstreams' --parallel; they run with --max-queue 64)
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { bodyLines } from './lines.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '21' },
    warmup: { type: 'string', default: '5' },
    tokens: { type: 'string', default: '200' },
    'soak-seconds': { type: 'string', default: '300' },
    'health-interval': { type: 'string', default: '2' },
    'failover-tokens': { type: 'string', default: '256' },
    parallel: { type: 'string', default: '4' },
    model: { type: 'string' },
  },
});
const runs = Number(values.runs);
const maxTokens = Number(values.tokens);
const soakSeconds = Number(values['soak-seconds']);
const intervalMs = Number(values['health-interval']) * 1000;
const models = process.env.MURMUR_TEST_MODELS ? resolve(process.env.MURMUR_TEST_MODELS) : resolve(root, '..', 'shared', 'models');
const gguf = values.model ? resolve(values.model) : join(models, 'stories260K', 'stories260K.gguf');
const bin = join(root, 'dist', 'bin', 'murmur.js');
if (!existsSync(bin)) throw new Error('run `npx tsc -p tsconfig.json` first');

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const round = (x, places = 2) => Math.round(x * 10 ** places) / 10 ** places;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const signed = (x, places = 2) => `${x >= 0 ? '+' : ''}${x.toFixed(places)}`;
const log = (line) => console.error(line);

const homes = [];
const daemons = new Set();
const baseEnv = { ...process.env, MURMUR_THREADS: '1', MURMUR_GPU: 'off', MURMUR_KEEP_ALIVE: '-1', MURMUR_API_KEY: '', MURMUR_HOST: '', MURMUR_CONFIG: '', MURMUR_TLS_CERT: '', MURMUR_TLS_KEY: '', MURMUR_DEBUG: '' };
const envOf = (home) => ({ ...baseEnv, MURMUR_HOME: home });
const newHome = (name) => {
  const dir = mkdtempSync(join(tmpdir(), `murmur-bench-route-${name}-`));
  homes.push(dir);
  return dir;
};

/** Starts `murmur serve ARGS` in a process group of its own (so a kill takes its engine processes too); resolves once it listens. */
const serve = (home, args) =>
  new Promise((done, reject) => {
    const child = spawn(process.execPath, [bin, 'serve', ...args], { env: envOf(home), stdio: ['ignore', 'ignore', 'pipe'], detached: true });
    daemons.add(child);
    child.once('exit', () => daemons.delete(child));
    let text = '';
    // The request log (JSON lines on stderr), kept only while `capture` is on.
    const daemon = { child, capture: false, lines: [] };
    let partial = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk) => {
      if (!daemon.url) {
        text += chunk;
        const match = /murmur: listening on (http\S+)/.exec(text);
        if (match) done(Object.assign(daemon, { url: match[1], port: Number(new URL(match[1]).port), listeningAt: performance.now() }));
        return;
      }
      if (!daemon.capture) return;
      const lines = (partial + chunk).split('\n');
      partial = lines.pop();
      for (const line of lines) if (line.startsWith('{')) daemon.lines.push(JSON.parse(line));
    });
    child.once('exit', (code) => reject(new Error(`serve exited (${code}): ${text}`)));
  });
const group = (child, signal) => {
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
};
const exited = (child) => (child.exitCode !== null || child.signalCode !== null ? Promise.resolve() : new Promise((r) => child.once('exit', r)));
process.once('exit', () => {
  for (const child of daemons) group(child, 'SIGKILL');
});

const post = (url, body) => fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
const chatBody = (model, tokens, stream) => ({ model, messages: [{ role: 'user', content: 'Once upon a time' }], temperature: 0, max_tokens: tokens, ...(stream ? { stream: true, stream_options: { include_usage: true } } : {}) });

/**
 * One streamed chat completion: when it started, its first content token,
 * when it ended, the completion tokens, the replica the front named, and
 * how it failed if it did (`http NNN code`, `stream error`, `network`,
 * `cut` for a stream that ended with neither usage nor [DONE]).
 */
const stream = async (url, model, tokens) => {
  const start = performance.now();
  const record = { start, first: undefined, end: undefined, tokens: 0, upstream: undefined, failure: undefined };
  try {
    const res = await post(url, chatBody(model, tokens, true));
    record.upstream = res.headers.get('x-murmur-upstream') ?? undefined;
    if (!res.ok) {
      const text = await res.text();
      let code = '';
      try {
        code = JSON.parse(text).error?.code ?? JSON.parse(text).error?.type ?? '';
      } catch {
        // not JSON
      }
      record.failure = `http ${res.status}${code ? ` ${code}` : ''}`;
      return record;
    }
    let finished = false;
    for await (const line of bodyLines(res.body)) {
      if (!line.startsWith('data: ')) continue;
      if (line === 'data: [DONE]') {
        finished = true;
        continue;
      }
      const chunk = JSON.parse(line.slice(6));
      if (chunk.error) record.failure = 'stream error';
      if (chunk.choices?.[0]?.delta?.content) record.first ??= performance.now();
      if (chunk.usage) record.tokens = chunk.usage.completion_tokens;
    }
    if (!finished && !record.failure) record.failure = 'cut';
  } catch (error) {
    record.failure ??= `network (${error.cause?.code ?? error.message})`;
  } finally {
    record.end = performance.now();
  }
  return record;
};
const timedStream = async (url, model) => {
  const r = await stream(url, model, maxTokens);
  if (r.failure) throw new Error(`stream failed: ${r.failure}`);
  return { ttft: r.first - r.start, tps: ((r.tokens - 1) * 1000) / (r.end - r.first) };
};
const timedWhole = async (url, model, tokens) => {
  const start = performance.now();
  const res = await post(url, chatBody(model, tokens, false));
  if (!res.ok) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
  await res.json();
  return performance.now() - start;
};

/** Runs `workers` clients that stream back to back until `running()` is false; every record goes to `onRecord`. */
const load = (workers, url, model, tokens, running, onRecord) =>
  Promise.all(
    Array.from({ length: workers }, async () => {
      while (running()) onRecord(await stream(url, model, tokens));
    }),
  );

const rssMb = (pid) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))[1]) / 1024;
/** Least-squares slope of ys over xs. */
const slope = (xs, ys) => {
  const mx = xs.reduce((a, b) => a + b, 0) / xs.length;
  const my = ys.reduce((a, b) => a + b, 0) / ys.length;
  let num = 0;
  let den = 0;
  for (let i = 0; i < xs.length; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den ? num / den : 0;
};

const goals = [];
const goal = (what, met, figure) => goals.push({ what, met, figure });
const result = { model: gguf, runs, tokens: maxTokens, healthIntervalMs: intervalMs, soakSeconds, upstreamParallel: Number(values.parallel) };

try {
  // Three upstream daemons and the front.
  const names = ['a', 'b', 'c'];
  const upHomes = Object.fromEntries(names.map((n) => [n, newHome(n)]));
  for (const n of names) execFileSync(process.execPath, [bin, 'pull', gguf, '--name', 'tiny'], { env: envOf(upHomes[n]), stdio: 'ignore' });
  execFileSync(process.execPath, [bin, 'pull', gguf, '--name', 'solo'], { env: envOf(upHomes.a), stdio: 'ignore' });
  const upArgs = ['--port', '0', '--max-queue', '64', '--parallel', values.parallel];
  const up = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await serve(upHomes[n], upArgs)])));
  const frontHome = newHome('front');
  const config = join(frontHome, 'front.yaml');
  writeFileSync(
    config,
    [
      'upstreams:',
      ...names.map((n) => `  ${n}: { url: "${up[n].url}/v1", dialect: murmur, health-interval: ${intervalMs}ms }`),
      'routes:',
      '  - { model: solo, upstream: a }',
      '  - { model: tiny, upstream: [a, b, c] }',
      '',
    ].join('\n'),
  );
  const front = await serve(frontHome, ['--port', '0', '--config', config]);
  const upstreams = async () => (await (await fetch(`${front.url}/murmur/v1/upstreams`)).json()).upstreams;
  const healthy = async (name) => (await upstreams()).find((u) => u.name === name)?.healthy === true;
  for (const n of names) while (!(await healthy(n))) await sleep(50);
  log(`front ${front.url} → a ${up.a.url}, b ${up.b.url}, c ${up.c.url} (health every ${intervalMs} ms)`);

  // Load every model once, then warm up.
  for (const n of names) await timedWhole(up[n].url, 'tiny', 4);
  for (let i = 0; i < Number(values.warmup); i++) {
    await timedStream(up.a.url, 'solo');
    await timedStream(front.url, 'solo');
    await timedWhole(up.a.url, 'solo', 8);
    await timedWhole(front.url, 'solo', 8);
  }

  // 1. Through the front vs directly.
  {
    front.capture = up.a.capture = true;
    const ratios = [];
    const firsts = [];
    const tps = { front: [], direct: [] };
    const ttft = { front: [], direct: [] };
    for (let i = 0; i < runs; i++) {
      let f;
      let d;
      if (i % 2) {
        f = await timedStream(front.url, 'solo');
        d = await timedStream(up.a.url, 'solo');
      } else {
        d = await timedStream(up.a.url, 'solo');
        f = await timedStream(front.url, 'solo');
      }
      ratios.push(f.tps / d.tps);
      firsts.push(f.ttft - d.ttft);
      tps.front.push(f.tps);
      tps.direct.push(d.tps);
      ttft.front.push(f.ttft);
      ttft.direct.push(d.ttft);
    }
    const wholeRuns = runs * 2 + 1;
    const diffs = [];
    const whole = { front: [], direct: [] };
    for (let i = 0; i < wholeRuns; i++) {
      let f;
      let d;
      if (i % 2) {
        f = await timedWhole(front.url, 'solo', 8);
        d = await timedWhole(up.a.url, 'solo', 8);
      } else {
        d = await timedWhole(up.a.url, 'solo', 8);
        f = await timedWhole(front.url, 'solo', 8);
      }
      diffs.push(f - d);
      whole.front.push(f);
      whole.direct.push(d);
    }
    front.capture = up.a.capture = false;
    // The front's own time, from its request log against a's: what it adds between taking a request and passing on a's headers (streamed) or whole answer.
    const chats = (d) => d.lines.filter((l) => l.path === '/v1/chat/completions' && l.status === 200);
    // a logs the direct requests and the front's, in the order they were made: each round's pair in the order of that round.
    const order = [...Array.from({ length: runs }, (_, i) => (i % 2 ? ['f', 'd'] : ['d', 'f'])), ...Array.from({ length: wholeRuns }, (_, i) => (i % 2 ? ['f', 'd'] : ['d', 'f']))].flat();
    const fl = chats(front);
    const al = chats(up.a).filter((_, i) => order[i] === 'f');
    const own = { headers: [], whole: [] };
    if (fl.length === al.length) {
      for (let i = 0; i < fl.length; i++) {
        if (fl[i].headersMs !== undefined && al[i].headersMs !== undefined) own.headers.push(fl[i].headersMs - al[i].headersMs);
        else if (fl[i].headersMs === undefined && al[i].headersMs === undefined) own.whole.push(fl[i].ms - al[i].ms);
      }
    }
    result.passThroughOwnMs = own.headers.length ? { toHeaders: round(median(own.headers)), whole: round(median(own.whole)), of: fl.length } : { unmatched: [fl.length, al.length] };
    result.passThrough = {
      tokensPerSecondRatio: round(median(ratios), 3),
      tokensPerSecond: { front: round(median(tps.front), 0), direct: round(median(tps.direct), 0) },
      firstTokenMsDiff: round(median(firsts)),
      firstTokenMs: { front: round(median(ttft.front)), direct: round(median(ttft.direct)) },
      wholeRuns,
      wholeMsDiff: round(median(diffs)),
      wholeMs: { front: round(median(whole.front)), direct: round(median(whole.direct)) },
    };
    const p = result.passThrough;
    log(`1. streaming through the front: ${(p.tokensPerSecondRatio * 100).toFixed(1)}% of direct tokens/s (${p.tokensPerSecond.front} vs ${p.tokensPerSecond.direct}), first token ${signed(p.firstTokenMsDiff)} ms (${p.firstTokenMs.front} vs ${p.firstTokenMs.direct} ms), medians of ${runs} paired rounds of ${maxTokens} tokens`);
    log(`   non-streamed, 8 tokens: ${signed(p.wholeMsDiff)} ms (${p.wholeMs.front} vs ${p.wholeMs.direct} ms), median of ${wholeRuns} paired rounds`);
    if (result.passThroughOwnMs.toHeaders !== undefined) log(`   by the daemons' request logs, the front's own time: ${signed(result.passThroughOwnMs.toHeaders)} ms to a stream's headers, ${signed(result.passThroughOwnMs.whole)} ms on a whole answer (the rest is the client's second hop and the scheduler)`);
    goal('streaming tokens/s through the front ≥ 0.95× direct', p.tokensPerSecondRatio >= 0.95, `${(p.tokensPerSecondRatio * 100).toFixed(1)}%`);
    goal('first token through the front ≤ +3 ms', p.firstTokenMsDiff <= 3, `${signed(p.firstTokenMsDiff)} ms`);
    goal('non-streamed reply through the front ≤ +2 ms', p.wholeMsDiff <= 2, `${signed(p.wholeMsDiff)} ms`);
  }

  // 2. Three replicas under 32 streams, c killed mid-run, then restarted.
  {
    const records = [];
    let running = true;
    const streamTokens = Number(values['failover-tokens']);
    const loadDone = load(32, front.url, 'tiny', streamTokens, () => running, (r) => records.push(r));
    await sleep(4000);
    const before = await upstreams();
    const killAt = performance.now();
    group(up.c.child, 'SIGKILL');
    await exited(up.c.child);
    let outAt;
    const watchOut = (async () => {
      while (await healthy('c')) await sleep(20);
      outAt = performance.now();
    })();
    await sleep(4000);
    // Back on its port.
    const restartAt = performance.now();
    up.c = await serve(upHomes.c, ['--port', String(up.c.port), ...upArgs.slice(2)]);
    await watchOut;
    while (!(await healthy('c'))) await sleep(20);
    const healthyAt = performance.now();
    await sleep(2000);
    running = false;
    await loadDone;

    const inFlightOnC = records.filter((r) => r.upstream === 'c' && r.start < killAt && r.end > killAt);
    const failed = records.filter((r) => r.failure);
    const failedElsewhere = failed.filter((r) => !(r.upstream === 'c' && r.start < killAt && r.end > killAt));
    const after = records.filter((r) => r.start > killAt && r.start < restartAt);
    const afterFailed = after.filter((r) => r.failure);
    const firstOk = Math.min(...after.filter((r) => !r.failure).map((r) => r.end));
    const firstOkByte = Math.min(...after.filter((r) => !r.failure && r.first).map((r) => r.first));
    const afterRestartOnC = records.filter((r) => r.start > healthyAt && r.upstream === 'c').length;
    const firstTokenMs = (list) => round(median(list.filter((r) => !r.failure && r.first).map((r) => r.first - r.start)) ?? NaN, 0);
    const before2s = records.filter((r) => r.start > killAt - 2000 && r.start < killAt);
    const after2s = records.filter((r) => r.start > killAt && r.start < killAt + 2000);
    const kinds = {};
    for (const r of failed) kinds[r.failure] = (kinds[r.failure] ?? 0) + 1;
    result.failover = {
      streams: records.length,
      servedBy: Object.fromEntries(names.map((n) => [n, records.filter((r) => r.upstream === n).length])),
      inFlightAtKill: Object.fromEntries(before.map((u) => [u.name, u.inFlight])),
      inFlightOnKilled: inFlightOnC.length,
      failed: failed.length,
      failedKinds: kinds,
      failedNotOnKilled: failedElsewhere.length,
      startedAfterKill: after.length,
      startedAfterKillFailed: afterFailed.length,
      firstSuccessAfterKillMs: round(firstOk - killAt, 1),
      firstTokenAfterKillMs: round(firstOkByte - killAt, 1),
      takenOutAfterKillMs: outAt ? round(outAt - killAt, 1) : undefined,
      restartListeningMs: round(up.c.listeningAt - restartAt, 0),
      rejoinMs: round(healthyAt - up.c.listeningAt, 1),
      servedByRestartedIn2s: afterRestartOnC,
      // Median first-token latency of the streams started in the 2 s before the kill and after it: the queue at the replicas under 32 streams.
      firstTokenMsBefore: firstTokenMs(before2s),
      firstTokenMsAfter: firstTokenMs(after2s),
      // The streams on c across the kill, in ms from the kill: start, first token, end, tokens, how it ended.
      onKilled: inFlightOnC.map((r) => [round(r.start - killAt, 0), r.first ? round(r.first - killAt, 0) : null, round(r.end - killAt, 0), r.tokens, r.failure ?? 'ok']),
    };
    const f = result.failover;
    log(`2. 32 streams of ${streamTokens} tokens over a, b, c; c killed after 4 s: ${f.streams} streams (a ${f.servedBy.a}, b ${f.servedBy.b}, c ${f.servedBy.c}); in flight at the kill ${JSON.stringify(f.inFlightAtKill)}`);
    log(`   failed ${f.failed} (${JSON.stringify(kinds)}), of them not on c at the kill ${f.failedNotOnKilled}; c had ${f.inFlightOnKilled} streams in flight`);
    log(`   started after the kill ${f.startedAfterKill}, failed ${f.startedAfterKillFailed}; the first one's first token ${f.firstTokenAfterKillMs} ms after the kill, the first whole ${streamTokens}-token reply ${f.firstSuccessAfterKillMs} ms; front took c out after ${f.takenOutAfterKillMs} ms`);
    log(`   a stream's first token (median) ${f.firstTokenMsBefore} ms for those started in the 2 s before the kill, ${f.firstTokenMsAfter} ms in the 2 s after: the replicas' queues`);
    log(`   c restarted on port ${up.c.port}: listening after ${f.restartListeningMs} ms, healthy at the front ${f.rejoinMs} ms later (interval ${intervalMs} ms); ${f.servedByRestartedIn2s} streams on c in the next 2 s`);
    goal('only the killed replica\'s streams fail, each with an error event', f.failedNotOnKilled === 0 && failed.every((r) => r.failure === 'stream error'), `${f.failed} failed, ${f.failedNotOnKilled} elsewhere, kinds ${JSON.stringify(kinds)}`);
    goal('every request started after the kill succeeds, the first within 1 s', f.startedAfterKillFailed === 0 && f.firstTokenAfterKillMs <= 1000, `${f.startedAfterKillFailed} of ${f.startedAfterKill} failed; the first one's first token ${f.firstTokenAfterKillMs} ms after the kill`);
    goal('the restarted replica rejoins within one health interval', f.rejoinMs <= intervalMs, `${f.rejoinMs} ms (interval ${intervalMs} ms)`);
  }

  // 3. Soak: 64 streams through the front.
  {
    const kinds = {};
    let ok = 0;
    let tokens = 0;
    let running = true;
    const samples = [];
    const started = performance.now();
    const sample = () => samples.push({ s: (performance.now() - started) / 1000, mb: rssMb(front.child.pid) });
    sample();
    const sampler = setInterval(sample, 5000);
    const loadDone = load(64, front.url, 'tiny', 64, () => running, (r) => {
      if (r.failure) kinds[r.failure] = (kinds[r.failure] ?? 0) + 1;
      else {
        ok += 1;
        tokens += r.tokens;
      }
    });
    const progress = setInterval(() => log(`   soak ${Math.round((performance.now() - started) / 1000)} s: ${ok} ok, errors ${JSON.stringify(kinds)}, front RSS ${samples.at(-1).mb.toFixed(1)} MB`), 60_000);
    await sleep(soakSeconds * 1000);
    running = false;
    await loadDone;
    clearInterval(sampler);
    clearInterval(progress);
    sample();
    const tail = samples.filter((x) => x.s >= samples.at(-1).s / 3);
    const perMin = slope(tail.map((x) => x.s / 60), tail.map((x) => x.mb));
    const fitted = (perMin * (tail.at(-1).s - tail[0].s)) / 60;
    const notAllowed = Object.entries(kinds).filter(([k]) => k !== 'http 503 overloaded');
    result.soak = {
      seconds: round((performance.now() - started) / 1000, 1),
      ok,
      tokens,
      errors: kinds,
      rssMb: { start: round(samples[0].mb, 1), peak: round(Math.max(...samples.map((x) => x.mb)), 1), end: round(samples.at(-1).mb, 1), tailStart: round(tail[0].mb, 1) },
      tailSlopeMbPerMin: round(perMin, 3),
      tailGrowthPercent: round((fitted / tail[0].mb) * 100, 2),
      samples: samples.map((x) => [round(x.s, 0), round(x.mb, 1)]),
      upstreams: (await upstreams()).map((u) => ({ name: u.name, healthy: u.healthy, inFlight: u.inFlight, requests: u.requests, errors: u.errors })),
    };
    const s = result.soak;
    log(`3. soak, 64 streams for ${s.seconds} s: ${s.ok} streams ok (${s.tokens} tokens), errors ${JSON.stringify(kinds)}`);
    log(`   front RSS ${s.rssMb.start} MB at the start, peak ${s.rssMb.peak}, end ${s.rssMb.end}; last 2/3 ${signed(s.tailSlopeMbPerMin, 3)} MB/min (fitted ${signed(s.tailGrowthPercent)}% over it)`);
    goal('soak: no error but the upstreams\' 503s', notAllowed.length === 0, JSON.stringify(kinds));
    goal('soak: front RSS flat (last 2/3 grows ≤ 5%)', s.tailGrowthPercent <= 5, `${s.rssMb.start} → peak ${s.rssMb.peak} → ${s.rssMb.end} MB, ${signed(s.tailSlopeMbPerMin, 3)} MB/min`);
  }
} finally {
  for (const child of daemons) group(child, 'SIGTERM');
  await Promise.race([Promise.all([...daemons].map(exited)), sleep(15_000)]);
  for (const child of daemons) group(child, 'SIGKILL');
  for (const dir of homes) rmSync(dir, { recursive: true, force: true });
}

log('');
log('summary:');
for (const g of goals) log(`  ${g.met ? 'met    ' : 'NOT MET'}  ${g.what}: ${g.figure}`);
result.goals = goals;
console.log(JSON.stringify(result));
