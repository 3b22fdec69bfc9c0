// Entry point: `node src/index.js` (npm start). Prints `BRIDGE_LISTENING host=H port=N` once bound.
import { watchParent } from './parent-watch.js';
import pino from 'pino';
import { ConfigError, loadConfig } from './config.js';
import { createBridge } from './bridge.js';
import { acquireInstanceLock } from './instance-lock.js';

let config;
try {
  config = loadConfig();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  process.stderr.write(`baileys-bridge: ${err.message}\n`);
  process.exit(2);
}

const logger = pino({ level: config.logLevel, base: { service: 'baileys-bridge' } }, pino.destination(2));
if (config.fakeSocket) logger.warn('BRIDGE_FAKE_SOCKET=1: using the in-process FAKE socket (tests only); WhatsApp is never dialed');
if (!config.apiKey && !config.insecureNoAuth) {
  // Staying up (rather than exiting) keeps start_all.sh's stack alive; without a key nothing is served.
  logger.error('BRIDGE_API_KEY is not set: every /v1 route answers 503 not_configured and no session starts');
} else if (!config.apiKey) {
  logger.warn('BRIDGE_INSECURE_NO_AUTH=1: the API is open to anyone who can reach it');
}

const bridge = createBridge(config, { logger });
let port;
let releaseLock = () => {};
try {
  releaseLock = acquireInstanceLock(config.dataDir);
  port = await bridge.start();
} catch (err) {
  process.stderr.write(`baileys-bridge: cannot start: ${err.message}\n`);
  process.exit(1);
}
process.stdout.write(`BRIDGE_LISTENING host=${config.host} port=${port}\n`);

let stopping = false;
async function shutdown(signal) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'stopping');
  await bridge.stop().catch((err) => logger.error({ err }, 'error while stopping'));
  releaseLock();
  process.stdout.write('BRIDGE_STOPPED\n');
  process.exit(0);
}
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
watchParent(() => shutdown('parent_exited'), { expectParent: config.launchedByNpm });
