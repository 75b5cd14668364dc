import { describe, expect, it } from 'vitest';
import { createLogger, describeEntry } from '../../../src/server/log.js';
import { formatBytes } from '../../../commands/ui/format.js';

const request = (method: string, path: string, status = 200) => ({ time: 't', requestId: 'req_1', method, path, status, ms: 1 });

describe('the daemon log', () => {
  it('leaves answered probes (GET /health, HEAD /) out unless asked, and keeps failed ones and every other request', () => {
    const lines: string[] = [];
    const log = createLogger({ format: 'json', write: (l) => lines.push(l) });
    log(request('GET', '/health'));
    log(request('HEAD', '/'));
    log(request('GET', '/health', 503));
    log(request('GET', '/murmur/v1/ps'));
    log(request('HEAD', '/v1/models'));
    expect(lines.map((l) => JSON.parse(l) as { method: string; path: string; status: number }).map((l) => `${l.method} ${l.path} ${l.status}`)).toEqual([
      'GET /health 503',
      'GET /murmur/v1/ps 200',
      'HEAD /v1/models 200',
    ]);

    const debug: string[] = [];
    const verbose = createLogger({ format: 'pretty', write: (l) => debug.push(l), probes: true });
    verbose(request('GET', '/health'));
    verbose(request('HEAD', '/'));
    expect(debug).toEqual(['t GET /health 200 1ms req_1\n', 't HEAD / 200 1ms req_1\n']);
  });

  it('says shutting down and stopped as JSON events in JSON mode and as the plain lines on a terminal', () => {
    const json: string[] = [];
    const j = createLogger({ format: 'json', write: (l) => json.push(l) });
    j.lifecycle('shutdown');
    j.lifecycle('stopped');
    expect(json.map((l) => JSON.parse(l) as unknown)).toEqual([
      { time: expect.stringMatching(/Z$/), event: 'shutdown' },
      { time: expect.stringMatching(/Z$/), event: 'stopped' },
    ]);
    const pretty: string[] = [];
    const p = createLogger({ format: 'pretty', write: (l) => pretty.push(l) });
    p.lifecycle('shutdown');
    p.lifecycle('stopped');
    expect(pretty).toEqual(['murmur: shutting down\n', 'murmur: stopped\n']);
  });

  it('writes sizes as the CLI does (decimal: ps and the log agree on 10106624 bytes)', () => {
    const event = { time: '', event: 'unload', model: 'tiny', reason: 'unload requested', memoryBytes: 10_106_624 } as const;
    expect(formatBytes(10_106_624)).toBe('10.1 MB');
    expect(describeEntry(event as Parameters<typeof describeEntry>[0])).toBe('unloaded tiny (unload requested), freeing 10.1 MB');
  });
});
