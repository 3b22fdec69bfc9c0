import { test } from 'node:test';
import assert from 'node:assert/strict';
import { API_KEY, openSession, startBridge } from './helpers.js';

const PNG_MAGIC = Buffer.from([0x89, 0x50, 0x4e, 0x47]);

test('health needs no key and is not tied to WhatsApp state', async (t) => {
  const { base } = await startBridge(t);
  const response = await fetch(`${base}/health`);
  assert.equal(response.status, 200);
  const body = await response.json();
  assert.equal(body.ok, true);
  assert.equal(typeof body.uptime_s, 'number');
});

test('every /v1 route refuses a missing or wrong key with 401', async (t) => {
  const { call } = await startBridge(t);
  for (const headers of [{ authorization: '' }, { authorization: `Bearer ${API_KEY}x` }, { authorization: API_KEY }]) {
    const response = await call('GET', '/v1/status', undefined, headers);
    assert.equal(response.status, 401);
    assert.equal(response.body.error.code, 'unauthorized');
  }
});

test('without BRIDGE_API_KEY the API answers 503 not_configured and nothing dials', async (t) => {
  const { call, factory } = await startBridge(t, { env: { BRIDGE_API_KEY: '' } });
  const response = await call('POST', '/v1/session/start');
  assert.equal(response.status, 503);
  assert.equal(response.body.error.code, 'not_configured');
  assert.equal(factory.sockets.length, 0);
});

test('the process start never dials; status says closed until session/start', async (t) => {
  const { call, factory } = await startBridge(t);
  const status = await call('GET', '/v1/status');
  assert.equal(status.status, 200);
  assert.deepEqual(
    { state: status.body.state, reason: status.body.reason, qr: status.body.qr_available, me: status.body.me },
    { state: 'closed', reason: 'not_started', qr: false, me: null },
  );
  assert.equal(status.body.baileys_version, '7.0.0-rc14');
  assert.equal(factory.sockets.length, 0);
  const started = await call('POST', '/v1/session/start');
  assert.equal(started.status, 202);
  assert.equal(started.body.state, 'connecting');
  assert.equal(factory.sockets.length, 1);
});

test('a pairing QR is served as PNG and as JSON, then 409 once open', async (t) => {
  const fixture = await startBridge(t);
  const { call, factory, bridge } = fixture;
  assert.equal((await call('GET', '/v1/qr')).body.error.code, 'no_qr');
  await call('POST', '/v1/session/start');
  factory.current.emitConnection({ qr: 'pairing-ref-1' });
  await bridge.session.idle();
  const png = await call('GET', '/v1/qr');
  assert.equal(png.status, 200);
  assert.equal(png.headers.get('content-type'), 'image/png');
  assert.deepEqual(png.body.subarray(0, 4), PNG_MAGIC);
  const json = await call('GET', '/v1/qr?format=json');
  assert.equal(json.body.qr, 'pairing-ref-1');
  assert.ok(Date.parse(json.body.expires_at) > Date.now());
  assert.equal((await call('GET', '/v1/status')).body.state, 'qr');
  factory.current.emitConnection({ connection: 'open' });
  await bridge.session.idle();
  const conflict = await call('GET', '/v1/qr');
  assert.equal(conflict.status, 409);
  assert.equal(conflict.body.error.code, 'already_connected');
  const status = (await call('GET', '/v1/status')).body;
  assert.equal(status.state, 'open');
  assert.deepEqual(status.me, { phone: '+15550001111' });
  assert.equal((await call('POST', '/v1/session/start')).status, 409);
});

test('sending before the session is open answers 503 not_connected', async (t) => {
  const { call } = await startBridge(t);
  const response = await call('POST', '/v1/messages', { to: '+4915112345678', type: 'text', text: 'hi' });
  assert.equal(response.status, 503);
  assert.equal(response.body.error.code, 'not_connected');
});

test('bad send bodies get 400 naming the field', async (t) => {
  const fixture = await startBridge(t);
  await openSession(fixture);
  const cases = [
    [{ to: '4915112345678', text: 'x' }, /^to:/],
    [{ to: '+4915112345678', type: 'text' }, /^text:/],
    [{ to: '+4915112345678', type: 'video', text: 'x' }, /^type:/],
    [{ to: '+4915112345678', type: 'image' }, /^media:/],
    [{ to: '+4915112345678', type: 'image', media: { url: 'ftp://x/y.png' } }, /^media.url:/],
    [{ to: '+4915112345678', type: 'image', media: { url: 'http://x/y.png', base64: 'AA==' } }, /^media:/],
    [{ to: '+4915112345678', type: 'document', media: { base64: 'JVBERi0=' } }, /^media.mimetype:/],
    [{ to: '+4915112345678', type: 'audio', media: { base64: '@@@' } }, /^media.base64:/],
  ];
  for (const [body, message] of cases) {
    const response = await fixture.call('POST', '/v1/messages', body);
    assert.equal(response.status, 400, JSON.stringify(body));
    assert.equal(response.body.error.code, 'invalid_request');
    assert.match(response.body.error.message, message);
  }
  const notJson = await fixture.call('POST', '/v1/messages', '{"to":', { 'content-type': 'application/json' });
  assert.equal(notJson.status, 400);
  assert.equal(notJson.body.error.code, 'invalid_request');
  assert.equal(fixture.factory.current.sent.length, 0);
});

test('a text send is accepted with a WhatsApp id, and its status follows receipts', async (t) => {
  const fixture = await startBridge(t);
  await openSession(fixture);
  const sent = await fixture.call('POST', '/v1/messages', { to: '+4915112345678', type: 'text', text: 'hello' });
  assert.equal(sent.status, 202);
  assert.equal(sent.body.to, '+4915112345678');
  assert.equal(sent.body.status, 'pending');
  const [wire] = fixture.factory.current.sent;
  assert.equal(wire.jid, '4915112345678@s.whatsapp.net');
  assert.deepEqual(wire.content, { text: 'hello' });
  assert.equal(wire.options.messageId, sent.body.id);
  const ev = fixture.factory.current.ev;
  const receipt = (status) => ev.emit('messages.update', [{ key: { id: sent.body.id, fromMe: true }, update: { status } }]);
  receipt(4); // read can overtake delivered; status never moves backwards
  receipt(3);
  await fixture.bridge.session.idle();
  const status = await fixture.call('GET', `/v1/messages/${sent.body.id}`);
  assert.equal(status.status, 200);
  assert.equal(status.body.status, 'read');
  assert.equal(status.body.error_code, null);
  // getMessage answers WhatsApp's retry requests from the persisted store.
  assert.deepEqual(await fixture.bridge.session.getMessage({ id: sent.body.id }), { conversation: 'hello' });
  assert.equal((await fixture.call('GET', '/v1/messages/NOPE')).status, 404);
});

test('media sends by base64 and by URL reach the socket as Baileys content', async (t) => {
  const fixture = await startBridge(t);
  await openSession(fixture);
  const pdf = Buffer.from('%PDF-1.4 test');
  const doc = await fixture.call('POST', '/v1/messages', {
    to: '+4915112345678',
    type: 'document',
    media: { base64: pdf.toString('base64'), mimetype: 'application/pdf', filename: 'a.pdf' },
    caption: 'invoice',
  });
  assert.equal(doc.status, 202);
  const image = await fixture.call('POST', '/v1/messages', {
    to: '+4915112345678',
    type: 'image',
    media: { url: 'https://example.invalid/p.png' },
  });
  assert.equal(image.status, 202);
  const [first, second] = fixture.factory.current.sent;
  assert.deepEqual(first.content.document, pdf);
  assert.equal(first.content.mimetype, 'application/pdf');
  assert.equal(first.content.fileName, 'a.pdf');
  assert.equal(first.content.caption, 'invoice');
  assert.deepEqual(second.content.image, { url: 'https://example.invalid/p.png' });
});

test('the same Idempotency-Key returns the same result without a second send', async (t) => {
  const fixture = await startBridge(t);
  await openSession(fixture);
  const body = { to: '+4915112345678', type: 'text', text: 'once' };
  const headers = { 'idempotency-key': 'order-42' };
  const [a, b] = await Promise.all([
    fixture.call('POST', '/v1/messages', body, headers),
    fixture.call('POST', '/v1/messages', body, headers),
  ]);
  const c = await fixture.call('POST', '/v1/messages', body, headers);
  assert.equal(a.status, 202);
  assert.deepEqual(b.body, a.body);
  assert.deepEqual(c.body, a.body);
  assert.equal(fixture.factory.current.sent.length, 1);
});

test('a number that is not on WhatsApp answers 422 and contacts/check reports it', async (t) => {
  const fixture = await startBridge(t);
  await openSession(fixture);
  const response = await fixture.call('POST', '/v1/messages', { to: '+4915110000000', text: 'hi' });
  assert.equal(response.status, 422);
  assert.equal(response.body.error.code, 'not_on_whatsapp');
  const check = await fixture.call('POST', '/v1/contacts/check', { phones: ['+4915112345678', '+4915110000000'] });
  assert.equal(check.status, 200);
  assert.deepEqual(check.body.results, [
    { phone: '+4915112345678', exists: true, jid: '4915112345678@s.whatsapp.net' },
    { phone: '+4915110000000', exists: false, jid: null },
  ]);
  const bad = await fixture.call('POST', '/v1/contacts/check', { phones: ['0049'] });
  assert.equal(bad.status, 400);
  assert.match(bad.body.error.message, /E\.164/);
});

test('contacts/check needs an open session (503)', async (t) => {
  const { call } = await startBridge(t);
  const response = await call('POST', '/v1/contacts/check', { phones: ['+4915112345678'] });
  assert.equal(response.status, 503);
});

test('past the burst the sender answers 429 with Retry-After', async (t) => {
  const fixture = await startBridge(t, { env: { BRIDGE_SEND_BURST: '2', BRIDGE_SEND_PER_MINUTE: '1' } });
  await openSession(fixture);
  const send = () => fixture.call('POST', '/v1/messages', { to: '+4915112345678', text: 'x' });
  assert.equal((await send()).status, 202);
  assert.equal((await send()).status, 202);
  const limited = await send();
  assert.equal(limited.status, 429);
  assert.equal(limited.body.error.code, 'rate_limited');
  assert.ok(Number(limited.headers.get('retry-after')) >= 1);
  assert.equal(fixture.factory.current.sent.length, 2);
});

test('a send the socket never finishes answers 504 send_timeout; the same key reuses the id', async (t) => {
  const fixture = await startBridge(t, { env: { BRIDGE_SEND_TIMEOUT_MS: '50' } });
  await openSession(fixture);
  const sock = fixture.factory.current;
  sock.sendImpl = () => new Promise(() => {});
  const body = { to: '+4915112345678', text: 'stuck' };
  const headers = { 'idempotency-key': 'k-504' };
  const first = await fixture.call('POST', '/v1/messages', body, headers);
  assert.equal(first.status, 504);
  assert.equal(first.body.error.code, 'send_timeout');
  sock.sendImpl = null;
  const second = await fixture.call('POST', '/v1/messages', body, headers);
  assert.equal(second.status, 202);
  assert.equal(sock.sent.length, 2);
  assert.equal(sock.sent[1].options.messageId, sock.sent[0].options.messageId);
});

test('logout wipes the saved session and reports logged_out', async (t) => {
  const fixture = await startBridge(t);
  await openSession(fixture);
  assert.equal(await fixture.factory.hasSavedSession(), true);
  const response = await fixture.call('POST', '/v1/session/logout');
  assert.equal(response.status, 200);
  assert.deepEqual(response.body, { state: 'logged_out' });
  assert.equal(await fixture.factory.hasSavedSession(), false);
  assert.equal(fixture.factory.sockets[0].ended, true);
});

test('unknown routes answer 404 in the error format', async (t) => {
  const { call } = await startBridge(t);
  const response = await call('GET', '/v1/nope');
  assert.equal(response.status, 404);
  assert.equal(response.body.error.code, 'not_found');
});

test('an empty JSON body counts as no body; broken JSON is a 400 that says so', async (t) => {
  const { call } = await startBridge(t);
  const started = await call('POST', '/v1/session/start', '', { 'content-type': 'application/json' });
  assert.equal(started.status, 202);
  const broken = await call('POST', '/v1/contacts/check', '{"phones": [', { 'content-type': 'application/json' });
  assert.equal(broken.status, 400);
  assert.match(broken.body.error.message, /^body: not valid JSON/);
});

test('a reach-out timelock from WhatsApp shows in the status', async (t) => {
  const fixture = await startBridge(t);
  await openSession(fixture);
  const ends = new Date('2030-01-01T00:00:00Z');
  fixture.factory.current.emitConnection({ reachoutTimeLock: { isActive: true, timeEnforcementEnds: ends, enforcementType: 'BIZ_QUALITY' } });
  await fixture.bridge.session.idle();
  const status = (await fixture.call('GET', '/v1/status')).body;
  assert.deepEqual(status.reachout_timelock, { enforcement: 'BIZ_QUALITY', ends_at: ends.toISOString() });
  assert.equal(status.state, 'open');
});
