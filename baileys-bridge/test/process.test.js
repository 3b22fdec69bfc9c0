// The real sidecar process (`node src/index.js`), as start_all.sh and the Python tests run it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { API_KEY, SECRET, startReceiver, tempDir } from './helpers.js';

const ENTRY = fileURLToPath(new URL('../src/index.js', import.meta.url));

function run(t, env) {
  const child = spawn(process.execPath, [ENTRY], {
    env: { PATH: process.env.PATH, BRIDGE_PORT: '0', BRIDGE_LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  t.after(() => child.exitCode === null && child.kill('SIGKILL'));
  const lines = [];
  const waiters = [];
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      lines.push(line);
      for (const w of [...waiters]) w();
    });
  }
  const waitFor = (pattern) =>
    new Promise((resolve, reject) => {
      const check = () => {
        const hit = lines.find((l) => pattern.test(l));
        if (hit) {
          waiters.splice(waiters.indexOf(check), 1);
          resolve(hit);
        }
      };
      child.once('exit', (code) => reject(new Error(`exited ${code} before ${pattern}: ${lines.join('\n')}`)));
      waiters.push(check);
      check();
    });
  return { child, lines, waitFor };
}

async function api(port, method, route, body) {
  const response = await fetch(`http://127.0.0.1:${port}${route}`, {
    method,
    headers: { authorization: `Bearer ${API_KEY}`, ...(body && { 'content-type': 'application/json' }) },
    body: body && JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

test('fake-socket process: listens, waits to be started, delivers a signed webhook, stops on SIGTERM', async (t) => {
  const receiver = await startReceiver(t);
  const dir = await tempDir(t);
  const env = { BRIDGE_API_KEY: API_KEY, BRIDGE_DATA_DIR: dir, BRIDGE_FAKE_SOCKET: '1', BRIDGE_WEBHOOK_URL: receiver.url, BRIDGE_WEBHOOK_SECRET: SECRET };
  const proc = run(t, env);
  const ready = await proc.waitFor(/^BRIDGE_LISTENING host=127\.0\.0\.1 port=\d+$/);
  const port = Number(ready.split('port=')[1]);
  assert.ok(proc.lines.some((l) => l.includes('FAKE socket')));
  assert.equal((await api(port, 'GET', '/v1/status')).body.state, 'closed');
  assert.equal((await api(port, 'POST', '/v1/session/start')).status, 202);
  assert.equal((await api(port, 'POST', '/v1/_fake/connection', { connection: 'open' })).body.state, 'open');
  const incoming = await api(port, 'POST', '/v1/_fake/incoming', { from: '+4915112345678', text: 'hi', push_name: 'Ana' });
  const deliveries = await receiver.until((d) => d.some((x) => x.body.type === 'message.received'));
  const message = deliveries.find((x) => x.body.type === 'message.received');
  assert.equal(message.signatureValid, true);
  assert.equal(message.body.data.id, incoming.body.id);
  const sent = await api(port, 'POST', '/v1/messages', { to: '+4915112345678', type: 'text', text: 'hello' });
  assert.equal(sent.status, 202);
  assert.deepEqual((await api(port, 'POST', '/v1/_fake/receipt', { id: sent.body.id, status: 3 })).body, { id: sent.body.id, status: 'delivered' });
  proc.child.kill('SIGTERM');
  const [code] = await once(proc.child, 'close');
  assert.equal(code, 0);
  assert.ok(proc.lines.includes('BRIDGE_STOPPED'));

  // A saved session (the fake marks one on open) makes the next process connect on its own.
  const again = run(t, env);
  const port2 = Number((await again.waitFor(/^BRIDGE_LISTENING/)).split('port=')[1]);
  // A second sidecar on the same data dir would fight over the credentials (440): it refuses to start.
  const rival = run(t, env);
  const [rivalCode] = await once(rival.child, 'close');
  assert.equal(rivalCode, 1);
  assert.match(rival.lines.join('\n'), new RegExp(`is in use by process ${again.child.pid}`));
  assert.equal((await api(port2, 'GET', '/v1/status')).body.state, 'connecting');
  assert.equal((await api(port2, 'POST', '/v1/_fake/connection', { connection: 'open' })).body.state, 'open');
  again.child.kill('SIGTERM');
  await once(again.child, 'close');
});

test('a bad setting stops start-up with one line naming the variable', async (t) => {
  const proc = run(t, { BRIDGE_PORT: 'eighty' });
  const [code] = await once(proc.child, 'close');
  assert.equal(code, 2);
  assert.deepEqual(proc.lines, ['baileys-bridge: BRIDGE_PORT="eighty": expected a whole number']);
});
