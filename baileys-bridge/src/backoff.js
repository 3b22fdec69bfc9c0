// Exponential backoff with ±20 % jitter, shared by the reconnect policy and the webhook outbox.
export const JITTER = 0.2;

export function backoffDelay(attempt, minMs, maxMs, random = Math.random) {
  const base = Math.min(maxMs, minMs * 2 ** Math.max(0, attempt - 1));
  const jitter = 1 + JITTER * (2 * random() - 1);
  return Math.max(1, Math.round(base * jitter));
}
