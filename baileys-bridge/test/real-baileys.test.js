// Real Baileys 7 against loopback only: a ws server that accepts and then closes, then a port with no
// listener. Shows the close codes Baileys reports (428, 408) and the backoff the session schedules.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { WebSocketServer } from 'ws';
import { JITTER } from '../src/backoff.js';
import { createBaileysFactory } from '../src/baileys-socket.js';
import { startBridge, tempDir } from './helpers.js';

async function freePortWithNoListener() {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}

test('real Baileys on loopback: a closing server gives 428, a refused port 408, each backed off', async (t) => {
  const handshakes = [];
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await once(wss, 'listening');
  t.after(() => new Promise((r) => wss.close(r)));
  wss.on('connection', (ws, req) => {
    ws.once('message', (data) => {
      handshakes.push({ path: req.url, origin: req.headers.origin, helloBytes: data.length });
      ws.close();
    });
  });
  const dir = await tempDir(t);
  const urls = [`ws://127.0.0.1:${wss.address().port}/ws/chat`, `ws://127.0.0.1:${await freePortWithNoListener()}/ws/chat`];
  const factories = urls.map((waWebSocketUrl) => createBaileysFactory({ dataDir: dir, waWebSocketUrl, connectTimeoutMs: 3000 }));
  let created = 0;
  // Same auth dir, a different loopback URL for the second connect.
  const factory = { ...factories[0], create: (ctx) => factories[Math.min(created++, 1)].create(ctx) };
  const timers = [];
  const fixture = await startBridge(t, {
    dataDir: dir,
    factory,
    env: { BRIDGE_RECONNECT_MIN_MS: '1000' },
    schedule: (ms, fn) => {
      const timer = { ms, fn };
      timers.push(timer);
      return timer;
    },
  });
  const { session } = fixture.bridge;
  t.after(() => fixture.stop());

  const firstClose = once(session.events, 'close');
  assert.equal((await fixture.call('POST', '/v1/session/start')).status, 202);
  const [first] = await firstClose;
  assert.equal(first.code, 428);
  assert.equal(first.decision.action, 'backoff');
  assert.ok(first.delayMs >= 1000 * (1 - JITTER) && first.delayMs <= 1000 * (1 + JITTER));
  assert.deepEqual(handshakes, [{ path: '/ws/chat', origin: 'https://web.whatsapp.com', helloBytes: handshakes[0]?.helloBytes }]);
  assert.ok(handshakes[0].helloBytes > 0, 'Baileys sent its Noise hello to the loopback server');
  assert.equal((await fixture.call('GET', '/v1/status')).body.state, 'connecting');

  const secondClose = once(session.events, 'close');
  timers[0].fn();
  const [second] = await secondClose;
  assert.equal(second.code, 408); // ECONNREFUSED is reported as a lost connection
  assert.equal(second.decision.action, 'backoff'); // no QR was ever shown, so this is not "QR expired"
  assert.ok(second.delayMs >= 2000 * (1 - JITTER) && second.delayMs <= 2000 * (1 + JITTER));

  const status = (await fixture.call('GET', '/v1/status')).body;
  assert.equal(status.last_disconnect.code, 408);
  assert.equal(status.reconnect_attempts, 2);
  assert.equal(status.counters.session.sockets_created, 2);
  process.stdout.write(`# close codes ${first.code}, ${second.code}; backoff ${first.delayMs} ms then ${second.delayMs} ms\n`);
});
