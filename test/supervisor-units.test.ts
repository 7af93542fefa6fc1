import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { backoffDelayMs, RestartWindow } from '../daemon/supervisor/backoff.js';
import { IllegalTransition, NEXT, nextState } from '../daemon/supervisor/machine.js';

describe('the child state machine', () => {
  test('follows DESIGN.md: stopped → starting → running → draining → stopped, with backoff and fatal', { timeout: 10_000 }, () => {
    assert.equal(nextState('stopped', 'start'), 'starting');
    assert.equal(nextState('starting', 'ready'), 'running');
    assert.equal(nextState('running', 'stop'), 'draining');
    assert.equal(nextState('draining', 'exit'), 'stopped');
    assert.equal(nextState('running', 'exit'), 'backoff');
    assert.equal(nextState('backoff', 'retry'), 'starting');
    assert.equal(nextState('running', 'crashloop'), 'fatal');
    assert.equal(nextState('fatal', 'start'), 'starting', 'start always works, unlike systemd’s start limit');
  });

  test('refuses every edge the table does not list, loudly', { timeout: 10_000 }, () => {
    assert.throws(() => nextState('stopped', 'ready'), IllegalTransition);
    assert.throws(() => nextState('draining', 'start'), /illegal child transition: start in state draining/);
    const states = Object.keys(NEXT) as Array<keyof typeof NEXT>;
    for (const s of states) for (const to of Object.values(NEXT[s])) assert.ok(states.includes(to), `${s} → ${to}`);
  });
});

describe('restart backoff', () => {
  test('retries at once first, then doubles up to the cap', { timeout: 10_000 }, () => {
    const policy = { initialMs: 100, maxMs: 1_000 };
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 40].map((a) => backoffDelayMs(a, policy)),
      [0, 100, 200, 400, 800, 1_000, 1_000],
    );
  });

  test('counts restarts within the window; more than the maximum is a crash loop', { timeout: 10_000 }, () => {
    const w = new RestartWindow(10_000, 2);
    assert.equal(w.record(0), false);
    assert.equal(w.record(1_000), false);
    assert.equal(w.record(2_000), true);
    assert.equal(w.record(20_000), false, 'old restarts leave the window');
  });
});
