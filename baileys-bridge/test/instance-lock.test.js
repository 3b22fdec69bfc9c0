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

/**
 * A zombie: a shell starts a child that waits for one byte on fd 3, then execs `sleep`, which never
 * reaps it. The byte is sent only once the exec has happened, so the shell cannot reap the child first.
 */
async function parentOfAZombie(t, { kill = true } = {}) {
  const parent = spawn('sh', ['-c', 'head -c 1 <&3 >/dev/null & echo $!; exec sleep 60 3<&-'], {
    stdio: ['ignore', 'pipe', 'ignore', 'pipe'],
  });
  t.after(() => {
    // Closing fd 3 lets a child still waiting on it exit; then nothing of this test outlives it.
    parent.stdio[3].destroy();
    parent.stdout.destroy();
    parent.kill('SIGKILL');
  });
  const [line] = await once(createInterface({ input: parent.stdout }), 'line');
  const child = Number(line);
  if (kill) {
    // Nothing announces an exec or another process's exit: look until the kernel shows each.
    await until(() => readFileSync(`/proc/${parent.pid}/cmdline`, 'utf8').startsWith('sleep'));
    parent.stdio[3].end('x');
    await until(() => state(child) === 'Z');
  }
  return { parent, zombie: child };
}

async function until(condition) {
  for (let i = 0; i < 1000 && !condition(); i += 1) await delay(10);
  assert.ok(condition());
}

function state(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
}

test('a lock left by a zombie is taken over', { skip: process.platform !== 'linux' && 'needs /proc' }, async (t) => {
  const dir = await tempDir(t);
  const { zombie } = await parentOfAZombie(t);
  assert.equal(state(zombie), 'Z');
  const file = path.join(dir, 'bridge.lock');
  writeFileSync(file, String(zombie));
  const release = acquireInstanceLock(dir);
  assert.equal(readFileSync(file, 'utf8'), String(process.pid));
  release();
});

test('a lock held by a live process is refused, naming the holder', async (t) => {
  const dir = await tempDir(t);
  const { parent } = await parentOfAZombie(t, { kill: false });
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
