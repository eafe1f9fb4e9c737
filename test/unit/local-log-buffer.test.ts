import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { LocalLogBuffer } from '../../lib/local/LocalLogBuffer.js';
import { silentLogger } from '../fixtures/local-stack.js';

describe('LocalLogBuffer: the local stack keeps what it logs, for sluice logs --local', () => {
  it('keeps INFO, WARN and ERROR lines with their attributes, errors as name and message; not DEBUG', () => {
    const logs = new LocalLogBuffer(silentLogger(), { now: () => Date.parse('2026-11-30T10:00:00.000Z') });
    logs.debug('noise', { model: 'iris' });
    logs.info('request refused', { model: 'iris', version: 2, status: 400 });
    logs.warn({ message: 'shadow draw failed', model: 'iris', version: 3 });
    logs.error('the local API failed to answer', { model: 'iris', error: new TypeError('boom') });
    assert.deepEqual(logs.read({ model: 'iris' }), [
      {
        seq: 1,
        at: '2026-11-30T10:00:00.000Z',
        level: 'INFO',
        message: 'request refused',
        fields: { model: 'iris', version: 2, status: 400 },
      },
      {
        seq: 2,
        at: '2026-11-30T10:00:00.000Z',
        level: 'WARN',
        message: 'shadow draw failed',
        fields: { model: 'iris', version: 3 },
      },
      {
        seq: 3,
        at: '2026-11-30T10:00:00.000Z',
        level: 'ERROR',
        message: 'the local API failed to answer',
        fields: { model: 'iris', error: { name: 'TypeError', message: 'boom' } },
      },
    ]);
    assert.equal(logs.newest, 3);
  });

  it('reads one model, one version (served, stable or candidate), after a line, the newest up to a limit', () => {
    const logs = new LocalLogBuffer(silentLogger());
    logs.info('request served', { model: 'iris', version: 1 });
    logs.info('request served', { model: 'digits', version: 1 });
    logs.info('rollout stepped', { model: 'iris', stable: 1, candidate: 2, weight: 50 });
    logs.info('request served', { model: 'iris', version: 2 });
    const seqs = (lines: { seq: number }[]) => lines.map((line) => line.seq);
    assert.deepEqual(seqs(logs.read({ model: 'iris' })), [1, 3, 4]);
    assert.deepEqual(seqs(logs.read({ model: 'iris', version: 2 })), [3, 4]);
    assert.deepEqual(seqs(logs.read({ model: 'iris', version: 1 })), [1, 3]);
    assert.deepEqual(seqs(logs.read({ model: 'iris', after: 3 })), [4]);
    assert.deepEqual(seqs(logs.read({ model: 'iris', limit: 2 })), [3, 4]);
  });

  it('keeps only the newest lines of its capacity', () => {
    const logs = new LocalLogBuffer(silentLogger(), { capacity: 10 });
    for (let line = 0; line < 100; line++) logs.info('request refused', { model: 'iris', version: 1 });
    const kept = logs.read({ model: 'iris' });
    assert.ok(kept.length >= 10 && kept.length <= 11, String(kept.length));
    assert.equal(kept.at(-1)?.seq, 100);
  });
});
