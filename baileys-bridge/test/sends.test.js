// What became of a send, asked by its Idempotency-Key: the gateway's way to settle a send whose answer
// it never got (the sidecar died, or the request timed out).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { openSession, startBridge, tempDir } from './helpers.js';

const BODY = { to: '+4915112345678', type: 'text', text: 'where did it go?' };

/** Make the socket's next sends hang; resolves once one has reached the socket. */
function hangSends(sock) {
  const hung = {};
  hung.reached = new Promise((resolve) => {
    sock.sendImpl = () =>
      new Promise((_, reject) => {
        hung.fail = reject;
        resolve();
      });
  });
  return hung;
}

test('an accepted send is found by its key, with the status its receipts gave it', async (t) => {
  const fixture = await startBridge(t);
  await openSession(fixture);
  const sent = await fixture.call('POST', '/v1/messages', BODY, { 'idempotency-key': 'k-accepted' });
  assert.equal(sent.status, 202);
  const found = await fixture.call('GET', '/v1/sends/k-accepted');
  assert.equal(found.status, 200);
  assert.deepEqual(
    { state: found.body.state, id: found.body.id, status: found.body.status },
    { state: 'accepted', id: sent.body.id, status: 'pending' },
  );
  await fixture.call('POST', '/v1/_fake/receipt', { id: sent.body.id, status: 3 });
  assert.equal((await fixture.call('GET', '/v1/sends/k-accepted')).body.status, 'delivered');
});

test('a key no send ever reserved answers 404 unknown_key: nothing went to WhatsApp', async (t) => {
  const fixture = await startBridge(t);
  const found = await fixture.call('GET', '/v1/sends/never-used');
  assert.equal(found.status, 404);
  assert.equal(found.body.error.code, 'unknown_key');
});

test('a send in flight says so; once its process is gone it is unconfirmed, with its reserved id', async (t) => {
  const dir = await tempDir(t);
  const first = await startBridge(t, { dataDir: dir });
  await openSession(first);
  const hung = hangSends(first.factory.current);
  const request = first.call('POST', '/v1/messages', BODY, { 'idempotency-key': 'k-died' });
  await hung.reached;
  const during = await first.call('GET', '/v1/sends/k-died');
  assert.equal(during.body.state, 'in_flight');
  // A second process on the same data dir: what a restart after a crash finds on disk.
  const second = await startBridge(t, { dataDir: dir });
  const after = await second.call('GET', '/v1/sends/k-died');
  assert.equal(after.status, 200);
  assert.equal(after.body.state, 'unconfirmed');
  assert.equal(after.body.status, 'pending');
  assert.equal(after.body.id, first.factory.current.sent[0].options.messageId);
  hung.fail(new Error('socket closed'));
  assert.equal((await request).status, 502);
  assert.equal((await second.call('GET', '/v1/sends/k-died')).body.status, 'failed');
});

test('the fake socket can be told to hang sends (for the gateway tests)', async (t) => {
  const fixture = await startBridge(t, { env: { BRIDGE_SEND_TIMEOUT_MS: '50' } });
  await openSession(fixture);
  const set = await fixture.call('POST', '/v1/_fake/sends', { mode: 'hang' });
  assert.equal(set.status, 200);
  const response = await fixture.call('POST', '/v1/messages', BODY, { 'idempotency-key': 'k-hang' });
  assert.equal(response.status, 504);
  await fixture.call('POST', '/v1/_fake/sends', { mode: 'normal' });
  assert.equal((await fixture.call('POST', '/v1/messages', BODY)).status, 202);
});

test('a key whose id was reserved but whose record was never written is not_sent', async (t) => {
  const fixture = await startBridge(t);
  // What a process killed between reserving the id and writing the record leaves: the socket was never called.
  await fixture.bridge.store.putIdempotent('k-early', { reserved_id: '3EB0ABCDEF' });
  const found = await fixture.call('GET', '/v1/sends/k-early');
  assert.deepEqual(found.body, { key: 'k-early', state: 'not_sent', id: '3EB0ABCDEF', status: null });
});
