import { pino, type DestinationStream } from 'pino';
import type { Logger } from '../contracts/logger.js';
import { REDACTED, redact } from '../http/redact.js';

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  /**
   * Lowest level written.
   * @default 'info'
   */
  level?: 'debug' | 'info' | 'warn' | 'error';
  /**
   * Secret values removed from every line (message and fields, in the forms {@link redact} knows).
   * Read at each line, so an array that grows while the program runs (schemes loaded later) is honoured.
   * @default []
   */
  secrets?: readonly string[];
  /**
   * `text`: one compact line for people, `2026-12-01T08:00:00.000Z info  message {"field":1}`.
   * `json`: pino's JSON lines (`{"level":"info","time":"…","msg":"…",…}`) for log collectors.
   * @default 'text'
   */
  format?: 'text' | 'json';
  /**
   * Where lines go.
   * @default process.stderr
   */
  destination?: { write(line: string): unknown };
}

/**
 * Field names whose values are secret whatever they hold, removed by pino's path redaction even when
 * the value is not a known secret (a token fetched at run time).
 */
export const SECRET_FIELD_NAMES = ['authorization', 'cookie', 'password', 'token', 'access_token', 'appSecret', 'clientSecret', 'client_secret', 'secret'];

/**
 * A {@link Logger} on pino. Secrets are removed twice: by field name (pino's `redact` paths) and by value
 * in the finished line (pino's `streamWrite` hook), so a secret inside a message or an error text is
 * caught too.
 *
 * @example
 * const logger = createLogger({ level: 'debug', secrets: loaded.secrets });
 * logger.info('run started', { scheme: 'okki-to-yonbip' });
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const secrets = options.secrets ?? [];
  const sink = options.destination ?? process.stderr;
  // pino-pretty is not a dependency: the text form is made from pino's JSON line here.
  const stream: DestinationStream = { write: options.format === 'json' ? (line) => sink.write(line) : (line) => sink.write(textLine(line)) };
  const log = pino(
    {
      level: options.level ?? 'info',
      base: null,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: { paths: SECRET_FIELD_NAMES.flatMap((k) => [k, `*.${k}`]), censor: REDACTED },
      hooks: { streamWrite: (line) => redact(line, secrets) },
    },
    stream,
  );
  return {
    debug: (message, fields) => log.debug(fields ?? {}, message),
    info: (message, fields) => log.info(fields ?? {}, message),
    warn: (message, fields) => log.warn(fields ?? {}, message),
    error: (message, fields) => log.error(fields ?? {}, message),
  };
}

/** `time level message {fields}` from one pino JSON line. */
function textLine(json: string): string {
  const { time, level, msg, ...fields } = JSON.parse(json) as { time: string; level: string; msg?: string } & Record<string, unknown>;
  const extra = Object.keys(fields).length ? ' ' + JSON.stringify(fields) : '';
  return `${time} ${level.padEnd(5)} ${msg ?? ''}${extra}\n`;
}
