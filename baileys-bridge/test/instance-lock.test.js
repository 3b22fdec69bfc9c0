// One sidecar per data dir: a live holder keeps the lock; a dead one, or a zombie (killed, not yet
// reaped by its parent: kill(pid, 0) still succeeds), leaves it to be taken over.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as delay } from 'node:timers/promises';
import { acquireInstanceLock } from '../src/instance-lock.js';
import { tempDir } from './helpers.js';

/** A shell that starts `true` in the background and never reaps it: $! becomes a zombie. */
async function parentOfAZombie(t) {
  const parent = spawn('sh', ['-c', 'true & echo $!; exec sleep 60'], { stdio: ['ignore', 'pipe', 'ignore'] });
  t.after(() => parent.kill('SIGKILL'));
  const [line] = await once(createInterface({ input: parent.stdout }), 'line');
  return { parent, zombie: Number(line) };
}

function state(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
}

test('a lock left by a zombie is taken over', { skip: process.platform !== 'linux' && 'needs /proc' }, async (t) => {
  const dir = await tempDir(t);
  const { zombie } = await parentOfAZombie(t);
  // Nothing announces the exit of a process one does not parent: look until the kernel shows it.
  for (let i = 0; i < 500 && state(zombie) !== 'Z'; i += 1) await delay(10);
  assert.equal(state(zombie), 'Z');
  const file = path.join(dir, 'bridge.lock');
  writeFileSync(file, String(zombie));
  const release = acquireInstanceLock(dir);
  assert.equal(readFileSync(file, 'utf8'), String(process.pid));
  release();
});

test('a lock held by a live process is refused, naming the holder', async (t) => {
  const dir = await tempDir(t);
  const { parent } = await parentOfAZombie(t);
  writeFileSync(path.join(dir, 'bridge.lock'), String(parent.pid));
  assert.throws(() => acquireInstanceLock(dir), new RegExp(`in use by process ${parent.pid}`));
});

test('a lock left by a process that is gone, or holding garbage, is taken over', async (t) => {
  const dir = await tempDir(t);
  const gone = spawn('true');
  await once(gone, 'exit');
  for (const content of [String(gone.pid), 'not a pid', '']) {
    writeFileSync(path.join(dir, 'bridge.lock'), content);
    acquireInstanceLock(dir)();
  }
});
