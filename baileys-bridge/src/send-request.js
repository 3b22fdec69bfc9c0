// Validate a POST /v1/messages body and turn it into Baileys message content. Every rejection names
// the field and what was expected.
import { ApiError } from './errors.js';

export const E164 = /^\+[1-9]\d{6,14}$/;
export const MAX_MEDIA_BYTES = 16 * 1024 * 1024; // WhatsApp's limit for non-document media
const TYPES = ['text', 'image', 'document', 'audio'];
const BASE64 = /^[A-Za-z0-9+/\r\n]*={0,2}$/;

function bad(message) {
  return new ApiError(400, 'invalid_request', message);
}

function optionalString(value, field) {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw bad(`${field}: expected a string`);
  return value;
}

function mediaSource(media, type) {
  if (media === null || typeof media !== 'object' || Array.isArray(media)) {
    throw bad(`media: required for type=${type}, an object with "url" or "base64"`);
  }
  const hasUrl = media.url !== undefined;
  const hasBase64 = media.base64 !== undefined;
  if (hasUrl === hasBase64) throw bad('media: give exactly one of "url" or "base64"');
  if (hasUrl) {
    let url;
    try {
      url = new URL(String(media.url));
    } catch {
      throw bad('media.url: not a URL');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw bad('media.url: must be http or https');
    return { url: url.toString() };
  }
  if (typeof media.base64 !== 'string' || media.base64.length === 0 || !BASE64.test(media.base64)) {
    throw bad('media.base64: expected non-empty base64 text');
  }
  const buffer = Buffer.from(media.base64, 'base64');
  if (buffer.length === 0) throw bad('media.base64: decodes to nothing');
  if (buffer.length > MAX_MEDIA_BYTES) throw bad(`media.base64: ${buffer.length} bytes is over the ${MAX_MEDIA_BYTES}-byte limit`);
  return buffer;
}

/** @returns {{to: string, jid: string, type: string, content: object}} */
export function parseSendRequest(body) {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) throw bad('body: expected a JSON object');
  if (typeof body.to !== 'string' || !E164.test(body.to)) {
    throw bad('to: expected an E.164 phone number such as +4915112345678');
  }
  const type = body.type ?? (body.media ? undefined : 'text');
  if (!TYPES.includes(type)) throw bad(`type: expected one of ${TYPES.join(', ')}`);
  const jid = `${body.to.slice(1)}@s.whatsapp.net`;
  const caption = optionalString(body.caption, 'caption');
  if (type === 'text') {
    if (typeof body.text !== 'string' || body.text.trim() === '') throw bad('text: required for type=text, a non-empty string');
    if (body.text.length > 65_536) throw bad('text: longer than 65536 characters');
    return { to: body.to, jid, type, content: { text: body.text } };
  }
  const source = mediaSource(body.media, type);
  const mimetype = optionalString(body.media.mimetype, 'media.mimetype');
  const filename = optionalString(body.media.filename, 'media.filename');
  if (type === 'image') {
    return { to: body.to, jid, type, content: { image: source, caption, ...(mimetype && { mimetype }) } };
  }
  if (type === 'document') {
    if (!mimetype) throw bad('media.mimetype: required for type=document');
    return { to: body.to, jid, type, content: { document: source, mimetype, fileName: filename ?? 'document', caption } };
  }
  return {
    to: body.to,
    jid,
    type,
    content: { audio: source, mimetype: mimetype ?? 'audio/ogg; codecs=opus', ptt: body.voice_note === true },
  };
}
