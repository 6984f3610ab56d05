import type { Logger } from '../contracts/logger.js';

export const REDACTED = '***';

/**
 * Replaces every secret value in `text`, in the forms it can take on the wire (raw, URL-encoded once
 * or twice, Base64-free), with `***`. Values shorter than 4 characters are not treated as secrets,
 * since replacing them would mangle ordinary text.
 */
export function redact(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (!secret || secret.length < 4) continue;
    for (const form of new Set([secret, encodeURIComponent(secret), encodeURIComponent(encodeURIComponent(secret)), JSON.stringify(secret).slice(1, -1)])) {
      out = out.split(form).join(REDACTED);
    }
  }
  return out;
}

/** Redacts secrets from any JSON-able value (deeply, by its text form). */
export function redactValue<T>(value: T, secrets: readonly string[]): T {
  if (secrets.length === 0 || value === undefined) return value;
  const text = JSON.stringify(value, (_k, v: unknown) => (typeof v === 'bigint' ? v.toString() : v));
  if (text === undefined) return value;
  const red = redact(text, secrets);
  return red === text ? value : (JSON.parse(red) as T);
}

/** A logger that redacts secrets from messages and fields before passing them on. */
export function redactingLogger(inner: Logger, secrets: readonly string[]): Logger {
  const wrap =
    (fn: (m: string, f?: Record<string, unknown>) => void) =>
    (message: string, fields?: Record<string, unknown>) =>
      fn(redact(message, secrets), fields ? redactValue(fields, secrets) : undefined);
  return {
    debug: wrap(inner.debug.bind(inner)),
    info: wrap(inner.info.bind(inner)),
    warn: wrap(inner.warn.bind(inner)),
    error: wrap(inner.error.bind(inner)),
  };
}
