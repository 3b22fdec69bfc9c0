// Shared test fixtures: a bridge on port 0 with a fake socket, and a loopback webhook receiver.
import { createServer } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { once } from 'node:events';
import os from 'node:os';
import path from 'node:path';
import pino from 'pino';
import { loadConfig } from '../src/config.js';
import { createBridge } from '../src/bridge.js';
import { createFakeFactory } from '../src/fake-socket.js';
import { signWebhook } from '../src/signing.js';

export const API_KEY = 'test-key-123';
export const SECRET = 'whsec-test';
export const silent = pino({ level: 'silent' });

export async function tempDir(t) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'bridge-test-'));
  t.after(() => rm(dir, { recursive: true, force: true, maxRetries: 5 }));
  return dir;
}

/** Start a bridge with a fake socket factory; `env` overrides the settings. */
export async function startBridge(t, { env = {}, dataDir, factory, schedule, random } = {}) {
  // The bridge is stopped before its data dir is removed (t.after hooks run in registration order).
  const dir = dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'bridge-test-')));
  const config = loadConfig({ BRIDGE_PORT: '0', BRIDGE_API_KEY: API_KEY, BRIDGE_DATA_DIR: dir, ...env });
  const socketFactory = factory ?? createFakeFactory({ dataDir: dir });
  const bridge = createBridge(config, { logger: silent, factory: socketFactory, schedule, random });
  const port = await bridge.start();
  let stopped = false;
  const stop = async () => {
    if (!stopped) await bridge.stop();
    stopped = true;
  };
  t.after(async () => {
    await stop();
    if (!dataDir) await rm(dir, { recursive: true, force: true, maxRetries: 5 });
  });
  const base = `http://127.0.0.1:${port}`;
  const call = async (method, route, body, headers = {}) => {
    const response = await fetch(base + route, {
      method,
      headers: {
        authorization: `Bearer ${API_KEY}`,
        ...(body !== undefined && { 'content-type': 'application/json' }),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const type = response.headers.get('content-type') ?? '';
    const payload = type.includes('json') ? await response.json() : Buffer.from(await response.arrayBuffer());
    return { status: response.status, headers: response.headers, body: payload };
  };
  return { bridge, factory: socketFactory, dir, base, call, stop };
}

/** Start the session and open the fake socket. */
export async function openSession(fixture) {
  await fixture.call('POST', '/v1/session/start');
  await fixture.bridge.session.idle();
  fixture.factory.current.emitConnection({ connection: 'open' });
  await fixture.bridge.session.idle();
}

/**
 * A loopback webhook receiver. `respond(delivery, n)` picks the status code (200 by default);
 * every delivery is recorded with its raw body and whether the signature verified.
 */
export async function startReceiver(t, respond = () => 200) {
  const deliveries = [];
  const waiters = [];
  const server = createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks).toString('utf8');
      const ts = req.headers['x-wa-timestamp'];
      const delivery = {
        headers: req.headers,
        raw,
        body: JSON.parse(raw),
        signatureValid: req.headers['x-wa-signature'] === signWebhook(SECRET, ts, raw),
      };
      const status = respond(delivery, deliveries.length + 1);
      delivery.status = status;
      deliveries.push(delivery);
      res.writeHead(status).end();
      for (const w of [...waiters]) w();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  t.after(() => new Promise((r) => server.close(r)));
  /** Wait until `predicate(deliveries)` holds; woken by each delivery, never by a clock. */
  const until = (predicate) =>
    new Promise((resolve) => {
      const check = () => {
        if (predicate(deliveries)) {
          waiters.splice(waiters.indexOf(check), 1);
          resolve(deliveries);
        }
      };
      waiters.push(check);
      check();
    });
  return { url: `http://127.0.0.1:${server.address().port}/webhook`, deliveries, until, server };
}
