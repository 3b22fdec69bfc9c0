// The real socket factory: one Baileys socket per connect, auth state in files under the data dir.
import { readFile, rm } from 'node:fs/promises';
import path from 'node:path';
import makeWASocket, { Browsers, makeCacheableSignalKeyStore, useMultiFileAuthState } from 'baileys';
import pino from 'pino';

export function createBaileysFactory({ dataDir, waWebSocketUrl, connectTimeoutMs, baileysLogLevel = 'silent' }) {
  const authDir = path.join(dataDir, 'auth');
  // Baileys logs through pino; silent by default so nothing it says is mistaken for our own log lines.
  const logger = pino({ level: baileysLogLevel });
  // Retry counters outlive a single socket, as upstream recommends, so decrypt retries stay bounded.
  const retryCounts = new Map();
  const msgRetryCounterCache = {
    get: (key) => retryCounts.get(key),
    set: (key, value) => {
      if (retryCounts.size > 5000) retryCounts.delete(retryCounts.keys().next().value);
      retryCounts.set(key, value);
    },
    del: (key) => retryCounts.delete(key),
    flushAll: () => retryCounts.clear(),
  };

  return {
    kind: 'baileys',
    waWebSocketUrl,

    async hasSavedSession() {
      try {
        const creds = JSON.parse(await readFile(path.join(authDir, 'creds.json'), 'utf8'));
        return Boolean(creds?.me?.id);
      } catch {
        return false;
      }
    },

    async create({ getMessage }) {
      const { state, saveCreds } = await useMultiFileAuthState(authDir);
      const sock = makeWASocket({
        auth: { creds: state.creds, keys: makeCacheableSignalKeyStore(state.keys, logger) },
        waWebSocketUrl,
        logger,
        browser: Browsers.ubuntu('AgentLocator'),
        markOnlineOnConnect: false,
        syncFullHistory: false,
        connectTimeoutMs,
        msgRetryCounterCache,
        getMessage,
      });
      sock.ev.on('creds.update', () => {
        saveCreds().catch((err) => logger.error({ err }, 'saving creds failed'));
      });
      return { sock, isPaired: () => Boolean(state.creds.me?.id) };
    },

    async wipe() {
      await rm(authDir, { recursive: true, force: true });
    },
  };
}
