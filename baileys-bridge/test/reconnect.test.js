import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { JITTER } from '../src/backoff.js';
import { CONFLICT_LIMIT, decideReconnect } from '../src/reconnect-policy.js';
import { startBridge } from './helpers.js';

/** A schedule() that records reconnect timers instead of waiting, so tests fire them by hand. */
function manualScheduler() {
  const timers = [];
  const schedule = (ms, fn) => {
    const timer = { ms, fn, fired: false };
    timers.push(timer);
    return timer;
  };
  const fire = async (session) => {
    const timer = timers.at(-1);
    timer.fired = true;
    const attached = once(session.events, 'socket'); // the reconnect's factory.create() is async
    timer.fn();
    await attached;
    await session.idle();
  };
  return { timers, schedule, fire };
}

async function started(t, env = {}) {
  const clock = manualScheduler();
  const fixture = await startBridge(t, { env: { BRIDGE_RECONNECT_MIN_MS: '1000', BRIDGE_RECONNECT_MAX_MS: '8000', ...env }, schedule: clock.schedule });
  const closes = [];
  fixture.bridge.session.events.on('close', (c) => closes.push(c));
  await fixture.call('POST', '/v1/session/start');
  await fixture.bridge.session.idle();
  return { ...fixture, clock, closes, session: fixture.bridge.session };
}

async function closeWith(fixture, code) {
  fixture.factory.current.close(code);
  await fixture.session.idle();
}

function withinJitter(ms, base) {
  return ms >= base * (1 - JITTER) && ms <= base * (1 + JITTER);
}

test('515 after pairing reconnects at once, ending the old socket first', async (t) => {
  const f = await started(t);
  f.factory.current.emitConnection({ qr: 'ref' });
  await closeWith(f, 515);
  assert.equal(f.factory.sockets.length, 2);
  assert.equal(f.factory.sockets[0].ended, true);
  assert.equal(f.factory.sockets[0].ev.listenerCount('connection.update'), 0);
  assert.equal(f.clock.timers.length, 0);
  assert.equal(f.session.state, 'connecting');
});

test('428, 408 while paired and 500 back off exponentially with jitter, capped, reset on open', async (t) => {
  const f = await started(t);
  f.factory.current.emitConnection({ connection: 'open' });
  await f.session.idle();
  for (const code of [428, 408, 500, 428, 428]) {
    await closeWith(f, code);
    assert.equal(f.session.state, 'connecting');
    await f.clock.fire(f.session);
  }
  assert.deepEqual(f.closes.map((c) => c.code), [428, 408, 500, 428, 428]);
  const delays = f.clock.timers.map((x) => x.ms);
  [1000, 2000, 4000, 8000, 8000].forEach((base, i) => assert.ok(withinJitter(delays[i], base), `attempt ${i + 1}: ${delays[i]} vs ${base}`));
  // Only one socket is ever live: each earlier one was ended before its successor was made.
  assert.equal(f.factory.sockets.length, 6);
  assert.ok(f.factory.sockets.slice(0, -1).every((s) => s.ended));
  f.factory.current.emitConnection({ connection: 'open' });
  await f.session.idle();
  assert.equal(f.session.reconnectAttempts, 0);
  await closeWith(f, 428);
  assert.ok(withinJitter(f.clock.timers.at(-1).ms, 1000));
});

test('408 before pairing after QRs were shown stops as qr_expired until session/start', async (t) => {
  const f = await started(t);
  f.factory.current.emitConnection({ qr: 'ref-1' });
  await closeWith(f, 408);
  assert.deepEqual({ state: f.session.state, reason: f.session.reason }, { state: 'closed', reason: 'qr_expired' });
  assert.equal(f.clock.timers.length, 0);
  assert.equal(f.factory.sockets.length, 1);
  assert.equal((await f.call('GET', '/v1/qr')).status, 404);
  assert.equal((await f.call('POST', '/v1/session/start')).status, 202);
  assert.equal(f.factory.sockets.length, 2);
});

test('401 wipes the saved session and stops as logged_out', async (t) => {
  const f = await started(t);
  f.factory.current.emitConnection({ connection: 'open' });
  await f.session.idle();
  assert.equal(await f.factory.hasSavedSession(), true);
  await closeWith(f, 401);
  assert.deepEqual({ state: f.session.state, reason: f.session.reason }, { state: 'logged_out', reason: 'logged_out' });
  assert.equal(await f.factory.hasSavedSession(), false);
  assert.equal(f.clock.timers.length, 0);
});

test('403 and 405 stop as restricted and sends answer 503 restricted', async (t) => {
  for (const [code, reason] of [[403, 'forbidden'], [405, 'client_outdated']]) {
    const f = await started(t);
    await closeWith(f, code);
    assert.deepEqual({ state: f.session.state, reason: f.session.reason }, { state: 'restricted', reason });
    assert.equal(f.clock.timers.length, 0);
    const send = await f.call('POST', '/v1/messages', { to: '+4915112345678', text: 'x' });
    assert.equal(send.status, 503);
    assert.equal(send.body.error.code, 'restricted');
  }
});

test('440 is retried a bounded number of times, then stops as conflict', async (t) => {
  const f = await started(t);
  for (let i = 0; i < CONFLICT_LIMIT - 1; i += 1) {
    await closeWith(f, 440);
    await f.clock.fire(f.session);
  }
  assert.equal(f.clock.timers.length, CONFLICT_LIMIT - 1);
  await closeWith(f, 440);
  assert.deepEqual({ state: f.session.state, reason: f.session.reason }, { state: 'closed', reason: 'conflict' });
  assert.equal(f.clock.timers.length, CONFLICT_LIMIT - 1);
});

test('a restart while a reconnect is pending cancels it and builds exactly one new socket', async (t) => {
  const f = await started(t);
  await closeWith(f, 428);
  assert.equal(f.clock.timers.length, 1);
  assert.equal((await f.call('POST', '/v1/session/restart')).status, 202);
  assert.equal(f.factory.sockets.length, 2);
  assert.equal(f.session.timer, null);
  // Even if the cancelled timer's callback still ran, it would not build a second socket.
  f.clock.timers[0].fn();
  await f.session.idle();
  assert.equal(f.factory.sockets.length, 2);
});

test('the policy table by close code', () => {
  const unpaired = { paired: false, qrShown: false, recentConflicts: 0 };
  assert.equal(decideReconnect(515, unpaired).action, 'now');
  assert.equal(decideReconnect(428, unpaired).action, 'backoff');
  assert.equal(decideReconnect(408, unpaired).action, 'backoff'); // no QR yet: a network failure
  assert.equal(decideReconnect(408, { ...unpaired, qrShown: true }).reason, 'qr_expired');
  assert.equal(decideReconnect(408, { ...unpaired, paired: true, qrShown: true }).action, 'backoff');
  assert.deepEqual(decideReconnect(401, unpaired), { action: 'stop', state: 'logged_out', reason: 'logged_out', wipeAuth: true });
  assert.equal(decideReconnect(411, unpaired).action, 'stop');
  assert.equal(decideReconnect(undefined, unpaired).action, 'backoff');
});
