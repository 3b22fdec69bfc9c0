// Wires the parts together: store, outbox, session (real or fake socket), sender and the HTTP API.
import { readFileSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { createRequire } from 'node:module';
import { createBaileysFactory } from './baileys-socket.js';
import { createFakeFactory } from './fake-socket.js';
import { fakeControlRoutes } from './fake-controls.js';
import { buildHttpApi } from './http-api.js';
import { MessageStore } from './message-store.js';
import { Outbox } from './outbox.js';
import { Sender } from './sender.js';
import { Session } from './session.js';

const require = createRequire(import.meta.url);
const OWN_VERSION = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')).version;
const BAILEYS_VERSION = JSON.parse(readFileSync(path.join(path.dirname(require.resolve('baileys')), '..', 'package.json'), 'utf8')).version;

/**
 * @param {ReturnType<import('./config.js').loadConfig>} config
 * @param {{logger: import('pino').Logger, factory?: object, schedule?: Function, random?: () => number}} deps
 */
export function createBridge(config, { logger, factory, schedule, random }) {
  const socketFactory =
    factory ??
    (config.fakeSocket
      ? createFakeFactory({ dataDir: config.dataDir })
      : createBaileysFactory({
          dataDir: config.dataDir,
          waWebSocketUrl: config.waWebSocketUrl,
          connectTimeoutMs: config.connectTimeoutMs,
        }));
  const store = new MessageStore(config.dataDir);
  const outbox = new Outbox({
    dir: path.join(config.dataDir, 'outbox'),
    url: config.webhookUrl,
    secret: config.webhookSecret,
    timeoutMs: config.webhookTimeoutMs,
    retryMinMs: config.webhookRetryMinMs,
    retryMaxMs: config.webhookRetryMaxMs,
    logger: logger.child({ part: 'outbox' }),
  });
  const session = new Session({
    factory: socketFactory,
    store,
    outbox,
    logger: logger.child({ part: 'session' }),
    reconnectMinMs: config.reconnectMinMs,
    reconnectMaxMs: config.reconnectMaxMs,
    schedule,
    random,
  });
  const sender = new Sender({
    session,
    store,
    logger: logger.child({ part: 'sender' }),
    sendTimeoutMs: config.sendTimeoutMs,
    sendBurst: config.sendBurst,
    sendPerMinute: config.sendPerMinute,
  });
  const bridge = { config, logger, factory: socketFactory, store, outbox, session, sender };
  bridge.app = buildHttpApi({
    bridge,
    apiKey: config.apiKey,
    insecureNoAuth: config.insecureNoAuth,
    version: OWN_VERSION,
    baileysVersion: BAILEYS_VERSION,
    fakeControls: socketFactory.kind === 'fake' ? fakeControlRoutes({ factory: socketFactory, session, store }) : null,
  });

  /** Listen, then dial only if a saved session exists (and the API is usable). Returns the bound port. */
  bridge.start = async () => {
    await mkdir(config.dataDir, { recursive: true });
    await outbox.open();
    await bridge.app.listen({ host: config.host, port: config.port });
    if (config.apiKey || config.insecureNoAuth) await session.boot();
    return bridge.app.server.address().port;
  };

  bridge.stop = async () => {
    await session.stop();
    await bridge.app.close();
    await outbox.close();
  };
  return bridge;
}

export { BAILEYS_VERSION };
