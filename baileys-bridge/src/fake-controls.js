// Routes that drive the fake socket (BRIDGE_FAKE_SOCKET=1 only): connection changes, incoming
// messages and receipts, so the gateway's tests can run the real sidecar process without WhatsApp.
import { randomBytes } from 'node:crypto';
import { ApiError } from './errors.js';
import { E164 } from './send-request.js';

function currentSocket(factory) {
  const sock = factory.current;
  if (!sock || sock.ended) throw new ApiError(409, 'no_socket', 'no fake socket is live; POST /v1/session/start first');
  return sock;
}

export function fakeControlRoutes({ factory, session, store }) {
  return (app) => {
    app.post('/v1/_fake/connection', async (request) => {
      const { connection, qr, code } = request.body ?? {};
      if (connection !== undefined && connection !== 'open' && connection !== 'close') {
        throw new ApiError(400, 'invalid_request', 'connection: expected "open" or "close"');
      }
      if (qr !== undefined && typeof qr !== 'string') throw new ApiError(400, 'invalid_request', 'qr: expected a string');
      if (code !== undefined && !Number.isInteger(code)) throw new ApiError(400, 'invalid_request', 'code: expected an integer');
      const sock = currentSocket(factory);
      if (qr) sock.emitConnection({ qr });
      if (connection === 'open') sock.emitConnection({ connection: 'open' });
      if (connection === 'close') sock.close(code ?? 428);
      await session.idle();
      return { state: session.state, reason: session.reason };
    });

    app.post('/v1/_fake/sends', async (request) => {
      const { mode } = request.body ?? {};
      if (mode !== 'hang' && mode !== 'normal') throw new ApiError(400, 'invalid_request', 'mode: expected "hang" or "normal"');
      // hang: sends reach the socket and never finish, like a socket that died under them.
      currentSocket(factory).sendImpl = mode === 'hang' ? () => new Promise(() => {}) : null;
      return { mode };
    });

    app.post('/v1/_fake/incoming', async (request) => {
      const { from, text, id, push_name: pushName, lid } = request.body ?? {};
      if (typeof from !== 'string' || !E164.test(from)) throw new ApiError(400, 'invalid_request', 'from: expected an E.164 number');
      if (typeof text !== 'string') throw new ApiError(400, 'invalid_request', 'text: expected a string');
      const sock = currentSocket(factory);
      const messageId = typeof id === 'string' && id ? id : randomBytes(10).toString('hex').toUpperCase();
      const pn = `${from.slice(1)}@s.whatsapp.net`;
      // With `lid`, the chat is addressed by LID and the phone number rides along in remoteJidAlt (v7).
      const key = lid
        ? { remoteJid: `${lid}@lid`, remoteJidAlt: pn, fromMe: false, id: messageId }
        : { remoteJid: pn, fromMe: false, id: messageId };
      const message = { key, message: { conversation: text }, pushName: pushName ?? null, messageTimestamp: Math.floor(Date.now() / 1000) };
      sock.ev.emit('messages.upsert', { type: 'notify', messages: [message] });
      await session.idle();
      return { id: messageId };
    });

    app.post('/v1/_fake/receipt', async (request) => {
      const { id, status, error_code: errorCode } = request.body ?? {};
      if (typeof id !== 'string' || !id) throw new ApiError(400, 'invalid_request', 'id: expected a message id');
      if (![0, 1, 2, 3, 4, 5].includes(status)) throw new ApiError(400, 'invalid_request', 'status: expected 0..5');
      const record = await store.get(id);
      if (!record) throw new ApiError(404, 'not_found', `no sent message ${id}`);
      const sock = currentSocket(factory);
      const update = { status, ...(status === 0 && { messageStubParameters: [String(errorCode ?? 'unknown')] }) };
      sock.ev.emit('messages.update', [{ key: { id, fromMe: true, remoteJid: `${record.to.slice(1)}@s.whatsapp.net` }, update }]);
      await session.idle();
      return { id, status: (await store.get(id)).status };
    });
  };
}
