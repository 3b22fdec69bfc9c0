// One process per data dir: two sockets on the same credentials evict each other (close 440) forever.
import { readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return err.code === 'EPERM';
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
