// The only module that reads the environment. A bad value stops start-up with one line naming the variable.
import path from 'node:path';

export class ConfigError extends Error {}

const DEFAULT_WA_URL = 'wss://web.whatsapp.com/ws/chat';

function intVar(env, name, fallback, { min = 0, max = Number.MAX_SAFE_INTEGER } = {}) {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (!/^\d+$/.test(raw.trim())) throw new ConfigError(`${name}=${JSON.stringify(raw)}: expected a whole number`);
  const value = Number(raw.trim());
  if (value < min || value > max) {
    throw new ConfigError(`${name}=${raw}: expected a number between ${min} and ${max}`);
  }
  return value;
}

function flagVar(env, name) {
  const raw = (env[name] ?? '').trim();
  if (raw === '' || raw === '0') return false;
  if (raw === '1') return true;
  throw new ConfigError(`${name}=${JSON.stringify(raw)}: expected 1 or 0`);
}

function urlVar(env, name, fallback, protocols) {
  const raw = (env[name] ?? '').trim();
  if (raw === '') return fallback;
  let parsed;
  try {
    parsed = new URL(raw);
  } catch {
    throw new ConfigError(`${name}=${JSON.stringify(raw)}: not a URL`);
  }
  if (!protocols.includes(parsed.protocol)) {
    throw new ConfigError(`${name}=${raw}: scheme must be one of ${protocols.join(' ')}`);
  }
  return raw;
}

/** Build the frozen settings object from an environment mapping (process.env by default). */
export function loadConfig(env = process.env) {
  const apiKey = env.BRIDGE_API_KEY ?? '';
  const webhookUrl = urlVar(env, 'BRIDGE_WEBHOOK_URL', null, ['http:', 'https:']);
  const webhookSecret = env.BRIDGE_WEBHOOK_SECRET ?? '';
  if (webhookUrl && webhookSecret === '') {
    throw new ConfigError('BRIDGE_WEBHOOK_SECRET: required when BRIDGE_WEBHOOK_URL is set (webhooks are signed)');
  }
  const config = {
    host: (env.BRIDGE_HOST ?? '').trim() || '127.0.0.1',
    port: intVar(env, 'BRIDGE_PORT', 3001, { max: 65535 }),
    apiKey,
    insecureNoAuth: flagVar(env, 'BRIDGE_INSECURE_NO_AUTH'),
    dataDir: path.resolve((env.BRIDGE_DATA_DIR ?? '').trim() || './data/baileys'),
    webhookUrl,
    webhookSecret,
    webhookTimeoutMs: intVar(env, 'BRIDGE_WEBHOOK_TIMEOUT_MS', 10_000, { min: 1 }),
    webhookRetryMinMs: intVar(env, 'BRIDGE_WEBHOOK_RETRY_MIN_MS', 1_000, { min: 1 }),
    webhookRetryMaxMs: intVar(env, 'BRIDGE_WEBHOOK_RETRY_MAX_MS', 300_000, { min: 1 }),
    waWebSocketUrl: urlVar(env, 'WA_WEBSOCKET_URL', DEFAULT_WA_URL, ['ws:', 'wss:']),
    fakeSocket: flagVar(env, 'BRIDGE_FAKE_SOCKET'),
    connectTimeoutMs: intVar(env, 'BRIDGE_CONNECT_TIMEOUT_MS', 20_000, { min: 1 }),
    reconnectMinMs: intVar(env, 'BRIDGE_RECONNECT_MIN_MS', 1_000, { min: 1 }),
    reconnectMaxMs: intVar(env, 'BRIDGE_RECONNECT_MAX_MS', 60_000, { min: 1 }),
    sendTimeoutMs: intVar(env, 'BRIDGE_SEND_TIMEOUT_MS', 45_000, { min: 1 }),
    sendBurst: intVar(env, 'BRIDGE_SEND_BURST', 3, { min: 1 }),
    sendPerMinute: intVar(env, 'BRIDGE_SEND_PER_MINUTE', 12, { min: 1 }),
    logLevel: (env.BRIDGE_LOG_LEVEL ?? '').trim() || 'info',
    // Under `npm start` there is always a parent shell; being a child of init means it died.
    launchedByNpm: Boolean(env.npm_lifecycle_event),
  };
  return Object.freeze(config);
}
