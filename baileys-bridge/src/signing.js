// Webhook signatures: HMAC-SHA256 over "<unix seconds>." + raw body, sent as `v1=<hex>`.
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export function signWebhook(secret, timestampSeconds, rawBody) {
  const mac = createHmac('sha256', secret).update(`${timestampSeconds}.`).update(rawBody).digest('hex');
  return `v1=${mac}`;
}

/** Constant-time string equality; hashing first makes the lengths equal so the length leaks nothing. */
export function safeEqual(a, b) {
  const da = createHash('sha256').update(String(a)).digest();
  const db = createHash('sha256').update(String(b)).digest();
  return timingSafeEqual(da, db);
}
