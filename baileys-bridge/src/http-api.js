// The HTTP API of the contract (fastify). Every route but /health needs the bearer key.
import Fastify from 'fastify';
import QRCode from 'qrcode';
import { ApiError } from './errors.js';
import { messageView } from './message-store.js';
import { safeEqual } from './signing.js';

const BODY_LIMIT = 24 * 1024 * 1024; // 16 MB of media as base64, plus the JSON around it

function sendError(reply, err) {
  reply.code(err.status).headers(err.headers ?? {});
  return reply.send({ error: { code: err.code, message: err.message } });
}

export function buildHttpApi({ bridge, apiKey, insecureNoAuth, version, baileysVersion, fakeControls }) {
  const app = Fastify({ logger: false, bodyLimit: BODY_LIMIT });
  const started = Date.now();
  const { session, sender, outbox, store } = bridge;

  // Like fastify's own JSON parser, but an empty body is "no body" (clients often send the header anyway).
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string' }, (request, text, done) => {
    if (text.trim() === '') return done(null, undefined);
    try {
      done(null, JSON.parse(text));
    } catch (err) {
      done(new ApiError(400, 'invalid_request', `body: not valid JSON (${err.message})`));
    }
  });

  app.setErrorHandler((err, request, reply) => {
    if (err instanceof ApiError) return sendError(reply, err);
    if (err.code === 'FST_ERR_CTP_BODY_TOO_LARGE') return sendError(reply, new ApiError(413, 'too_large', 'body is over the size limit'));
    if (err.statusCode >= 400 && err.statusCode < 500) {
      // fastify's own rejections: unparseable JSON, wrong content type, empty body.
      return sendError(reply, new ApiError(400, 'invalid_request', err.message));
    }
    bridge.logger.error({ err, url: request.url }, 'request failed');
    return sendError(reply, new ApiError(500, 'internal', 'internal error (logged)'));
  });
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, new ApiError(404, 'not_found', `no route ${request.method} ${request.url.split('?')[0]}`)),
  );

  app.addHook('onRequest', async (request) => {
    if (request.url.split('?')[0] === '/health') return;
    if (insecureNoAuth) return;
    if (!apiKey) throw new ApiError(503, 'not_configured', 'BRIDGE_API_KEY is not set on the sidecar');
    const header = request.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice(7) : '';
    if (!safeEqual(token, apiKey)) throw new ApiError(401, 'unauthorized', 'missing or wrong bearer key');
  });

  app.get('/health', async () => ({ ok: true, version, uptime_s: Math.floor((Date.now() - started) / 1000) }));

  app.get('/v1/status', async () => ({
    state: session.state,
    reason: session.reason,
    me: session.state === 'open' ? session.me : null,
    qr_available: session.qrInfo() !== null,
    outbox_depth: outbox.depth,
    baileys_version: baileysVersion,
    socket: bridge.factory.kind,
    reconnect_attempts: session.reconnectAttempts,
    next_reconnect_at: session.nextReconnectAt,
    last_disconnect: session.lastDisconnect,
    restriction: session.restriction,
    reachout_timelock: session.timelock,
    counters: { session: session.counters, sends: sender.counters, webhooks: outbox.counters },
  }));

  app.get('/v1/qr', async (request, reply) => {
    if (session.state === 'open') throw new ApiError(409, 'already_connected', 'the session is open; no QR is needed');
    const qr = session.qrInfo();
    if (!qr) throw new ApiError(404, 'no_qr', `no QR is waiting (session is ${session.state})`);
    const format = request.query.format;
    if (format === 'json') return qr;
    if (format !== undefined && format !== 'png') throw new ApiError(400, 'invalid_request', 'format: expected png or json');
    const png = await QRCode.toBuffer(qr.qr, { type: 'png', margin: 2, width: 320 });
    return reply.type('image/png').header('cache-control', 'no-store').send(png);
  });

  app.post('/v1/session/start', async (request, reply) => reply.code(202).send({ state: await session.start() }));
  app.post('/v1/session/restart', async (request, reply) => reply.code(202).send({ state: await session.restart() }));
  app.post('/v1/session/logout', async () => ({ state: await session.logout() }));

  app.post('/v1/messages', async (request, reply) => {
    const result = await sender.send(request.body, request.headers['idempotency-key']);
    return reply.code(202).send(result);
  });

  app.get('/v1/messages/:id', async (request) => {
    const record = await store.get(request.params.id);
    if (!record) throw new ApiError(404, 'not_found', `no message ${request.params.id}`);
    return messageView(record);
  });

  app.get('/v1/sends/:key', async (request) => sender.lookupSend(request.params.key));

  app.post('/v1/contacts/check', async (request) => sender.checkContacts(request.body));

  if (fakeControls) fakeControls(app);
  return app;
}
