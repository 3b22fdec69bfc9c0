import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { Outbox } from '../src/outbox.js';
import { SECRET, openSession, silent, startBridge, startReceiver, tempDir } from './helpers.js';

function outboxAt(dir, url) {
  return new Outbox({ dir, url, secret: SECRET, timeoutMs: 2000, retryMinMs: 5, retryMaxMs: 20, logger: silent });
}

test('an incoming message becomes a signed message.received webhook', async (t) => {
  const receiver = await startReceiver(t);
  const fixture = await startBridge(t, { env: { BRIDGE_WEBHOOK_URL: receiver.url, BRIDGE_WEBHOOK_SECRET: SECRET } });
  await openSession(fixture);
  const before = Math.floor(Date.now() / 1000);
  fixture.factory.current.ev.emit('messages.upsert', {
    type: 'notify',
    messages: [
      {
        key: { remoteJid: '4915112345678@s.whatsapp.net', fromMe: false, id: 'IN-1' },
        message: { conversation: 'Do you open on Sunday?' },
        pushName: 'Ana',
        messageTimestamp: 1_790_000_000,
      },
    ],
  });
  const deliveries = await receiver.until((d) => d.some((x) => x.body.type === 'message.received'));
  const after = Math.ceil(Date.now() / 1000);
  const delivery = deliveries.find((x) => x.body.type === 'message.received');
  assert.equal(delivery.signatureValid, true);
  assert.equal(delivery.headers['x-wa-event-id'], delivery.body.id);
  const signedAt = Number(delivery.headers['x-wa-timestamp']);
  assert.ok(before <= signedAt && signedAt <= after, 'signed with the time of delivery');
  assert.deepEqual(delivery.body.data, {
    id: 'IN-1',
    chat: '+4915112345678',
    from: '+4915112345678',
    from_lid: null,
    push_name: 'Ana',
    is_group: false,
    timestamp: new Date(1_790_000_000_000).toISOString(),
    type: 'text',
    text: 'Do you open on Sunday?',
    media: null,
  });
  // The session's own state changes were delivered too, in order, before the message.
  const states = deliveries.filter((x) => x.body.type === 'session.status').map((x) => x.body.data.state);
  assert.deepEqual(states, ['connecting', 'open']);
});

test('an @lid sender is mapped to its phone number from remoteJidAlt; own and history messages are not sent', async (t) => {
  const receiver = await startReceiver(t);
  const fixture = await startBridge(t, { env: { BRIDGE_WEBHOOK_URL: receiver.url, BRIDGE_WEBHOOK_SECRET: SECRET } });
  await openSession(fixture);
  const ev = fixture.factory.current.ev;
  ev.emit('messages.upsert', { type: 'append', messages: [{ key: { remoteJid: '491@s.whatsapp.net', id: 'H1' }, message: { conversation: 'old' } }] });
  ev.emit('messages.upsert', {
    type: 'notify',
    messages: [
      { key: { remoteJid: '491@s.whatsapp.net', fromMe: true, id: 'ME1' }, message: { conversation: 'mine' } },
      { key: { remoteJid: 'status@broadcast', participant: '49@s.whatsapp.net', id: 'S1' }, message: { conversation: 'story' } },
      {
        key: { remoteJid: '123456789012345@lid', remoteJidAlt: '4915112345678@s.whatsapp.net', fromMe: false, id: 'L1' },
        message: { imageMessage: { mimetype: 'image/jpeg', caption: 'menu?', fileLength: 1234 } },
        pushName: 'Bo',
      },
    ],
  });
  // A duplicate upsert of the same id is not sent twice.
  ev.emit('messages.upsert', { type: 'notify', messages: [{ key: { remoteJid: '123456789012345@lid', id: 'L1' }, message: { conversation: 'x' } }] });
  await fixture.bridge.session.idle();
  const deliveries = await receiver.until((d) => d.some((x) => x.body.type === 'message.received'));
  const received = deliveries.filter((x) => x.body.type === 'message.received');
  assert.equal(received.length, 1);
  const { data } = received[0].body;
  assert.equal(data.id, 'L1');
  assert.equal(data.from, '+4915112345678');
  assert.equal(data.from_lid, '123456789012345@lid');
  assert.equal(data.type, 'image');
  assert.equal(data.text, 'menu?');
  assert.deepEqual(data.media, { mimetype: 'image/jpeg', filename: null, size: 1234 });
  assert.equal(fixture.bridge.session.counters.ignored, 4);
});

test('receipts on a sent message become message.status webhooks; 463 is reported as failed', async (t) => {
  const receiver = await startReceiver(t);
  const fixture = await startBridge(t, { env: { BRIDGE_WEBHOOK_URL: receiver.url, BRIDGE_WEBHOOK_SECRET: SECRET } });
  await openSession(fixture);
  const a = await fixture.call('POST', '/v1/messages', { to: '+4915112345678', text: 'a' });
  const b = await fixture.call('POST', '/v1/messages', { to: '+4915112345679', text: 'b' });
  const ev = fixture.factory.current.ev;
  ev.emit('messages.update', [{ key: { id: a.body.id, fromMe: true }, update: { status: 3 } }]);
  ev.emit('messages.update', [{ key: { id: b.body.id, fromMe: true }, update: { status: 0, messageStubParameters: ['463'] } }]);
  const deliveries = await receiver.until((d) => d.filter((x) => x.body.type === 'message.status').length === 2);
  const statuses = deliveries.filter((x) => x.body.type === 'message.status').map((x) => x.body.data);
  assert.deepEqual(
    statuses.map(({ id, status, error_code }) => ({ id, status, error_code })),
    [
      { id: a.body.id, status: 'delivered', error_code: null },
      { id: b.body.id, status: 'failed', error_code: '463' },
    ],
  );
  assert.equal((await fixture.call('GET', `/v1/messages/${b.body.id}`)).body.error_code, '463');
  assert.equal(fixture.factory.current.sent.length, 2); // the 463 send was not retried
  assert.equal((await fixture.call('GET', '/v1/status')).body.restriction.code, '463');
});

test('delivery is retried with backoff on 5xx and 429 until it succeeds', async (t) => {
  const receiver = await startReceiver(t, (_delivery, n) => [503, 429, 200][n - 1] ?? 200);
  const dir = await tempDir(t);
  const outbox = outboxAt(dir, receiver.url);
  await outbox.open();
  t.after(() => outbox.close());
  const event = await outbox.enqueue('message.status', { id: 'X', status: 'sent', error_code: null, at: 'now' });
  const deliveries = await receiver.until((d) => d.at(-1)?.status === 200);
  assert.deepEqual(deliveries.map((d) => d.status), [503, 429, 200]);
  assert.ok(deliveries.every((d) => d.body.id === event.id && d.signatureValid));
  assert.equal(outbox.counters.failed_attempts, 2);
  await outbox.close();
  assert.deepEqual((await readdir(dir)).filter((n) => n.endsWith('.json')), []);
});

test('a 4xx other than 408/429 is not retried: the event moves to dead/ and later ones still go', async (t) => {
  const receiver = await startReceiver(t, (delivery) => (delivery.body.data.n === 1 ? 400 : 200));
  const dir = await tempDir(t);
  const outbox = outboxAt(dir, receiver.url);
  await outbox.open();
  t.after(() => outbox.close());
  await outbox.enqueue('session.status', { n: 1 });
  await outbox.enqueue('session.status', { n: 2 });
  const deliveries = await receiver.until((d) => d.length === 2);
  assert.deepEqual(deliveries.map((d) => [d.body.data.n, d.status]), [[1, 400], [2, 200]]);
  assert.equal(outbox.counters.dead, 1);
  await outbox.close();
  assert.equal((await readdir(path.join(dir, 'dead'))).length, 1);
});

test('events survive a restart: what a stopped process could not deliver goes out, in order, after it', async (t) => {
  const dir = await tempDir(t);
  // First process: the gateway is down (nothing listens on this port), so nothing can be delivered.
  const down = await startReceiver(t);
  const deadUrl = down.url;
  await new Promise((r) => down.server.close(r));
  const first = outboxAt(dir, deadUrl);
  await first.open();
  for (const n of [1, 2, 3]) await first.enqueue('message.received', { id: `M${n}` });
  await first.close();
  assert.equal((await readdir(dir)).filter((n) => n.endsWith('.json')).length, 3);
  // Second process, gateway back up.
  const receiver = await startReceiver(t);
  const second = outboxAt(dir, receiver.url);
  await second.open();
  t.after(() => second.close());
  assert.equal(second.depth, 3);
  const deliveries = await receiver.until((d) => d.length === 3);
  assert.deepEqual(deliveries.map((d) => d.body.data.id), ['M1', 'M2', 'M3']);
  assert.ok(deliveries.every((d) => d.signatureValid));
});
