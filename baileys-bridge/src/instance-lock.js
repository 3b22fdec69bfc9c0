// One process per data dir: two sockets on the same credentials evict each other (close 440) forever.
import { existsSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';

function alive(pid) {
  try {
    process.kill(pid, 0);
  } catch (err) {
    return err.code === 'EPERM';
  }
  // kill(pid, 0) also succeeds for a zombie: killed, but not yet reaped by its parent (a container's
  // PID 1 that never waits keeps them for good). A zombie holds no socket and no session.
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
    return state !== 'Z' && state !== 'X';
  } catch (err) {
    // Without /proc (macOS) kill(0) is all there is; with it, a missing entry means the process is gone.
    return !(err.code === 'ENOENT' && existsSync('/proc/self/stat'));
  }
}

/** Take the lock or throw naming the holder; a lock left by a dead process is taken over. */
export function acquireInstanceLock(dataDir) {
  mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, 'bridge.lock');
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      writeFileSync(file, String(process.pid), { flag: 'wx' });
      return () => rmSync(file, { force: true });
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      const holder = Number(readFileSync(file, 'utf8'));
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && alive(holder)) {
        throw new Error(`${dataDir} is in use by process ${holder} (one sidecar per BRIDGE_DATA_DIR)`);
      }
      rmSync(file, { force: true });
    }
  }
  throw new Error(`could not lock ${file}`);
}
