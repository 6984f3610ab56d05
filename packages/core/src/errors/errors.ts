/**
 * The closed set of errors qiao raises. Each has a stable `code` (scripts and the run report rely on it),
 * keeps the original `cause`, and carries a `hint` that tells the user what to do.
 *
 * - {@link InputError}: a scheme file, flag, state directory or other input is invalid (exit 2);
 *   `SchemeError` is its former name, kept as an alias.
 * - {@link ConnectorAuthError}: a system refused the credentials (exit 3).
 * - {@link RetryableError}: a transient failure (network, timeout, 5xx, rate limit, expired token).
 * - {@link RecordError}: one record was rejected; it becomes a dead letter and the run goes on.
 * - {@link StateError}: the state store cannot be used: disk full, read-only, deleted or corrupt (exit 3).
 */
export type QiaoErrorCode = 'QIAO_SCHEME' | 'QIAO_AUTH' | 'QIAO_RETRYABLE' | 'QIAO_RECORD' | 'QIAO_STATE';

export interface QiaoErrorOptions {
  cause?: unknown;
  /** What the user can do about it. */
  hint?: string;
  /** The system the error comes from (`okki`, `yonbip`, a file path…). */
  system?: string;
  /**
   * The system's own code or a qiao reason, used to group errors in reports
   * (e.g. `yonbip.999`, `okki.not_found`, `mapping.error`).
   */
  reason?: string;
}

export abstract class QiaoError extends Error {
  abstract readonly code: QiaoErrorCode;
  readonly hint: string | undefined;
  readonly system: string | undefined;
  readonly reason: string | undefined;

  constructor(message: string, options: QiaoErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options.hint;
    this.system = options.system;
    this.reason = options.reason;
  }
}

/** One problem found while validating a scheme, manifest or flag. */
export interface Problem {
  /** The file (or `flag --name`) the problem is in. */
  file: string;
  /** JSON pointer inside the file, `''` for the whole document. */
  pointer: string;
  /** What was expected, in words. */
  expected: string;
  /** What was found, in words (never a secret value). */
  found?: string;
  /** What to do. */
  hint?: string;
  /** 1-based line, when known. */
  line?: number;
  /** 1-based column on that line, when known (syntax errors). */
  column?: number;
}

export function formatProblem(p: Problem): string {
  const where = `${p.file}${p.line ? `:${p.line}${p.column ? `:${p.column}` : ''}` : ''}${p.pointer ? ` at ${p.pointer}` : ''}`;
  let s = `${where}: expected ${p.expected}`;
  if (p.found !== undefined) s += `, found ${p.found}`;
  if (p.hint) s += `\n    hint: ${p.hint}`;
  return s;
}

/**
 * Bad input: a scheme file, a flag, a state directory, a second run of a locked scheme. Lists every
 * problem found, each naming the file, the JSON pointer, what was expected and what to do. The CLI
 * exits with {@link ExitCode.invalidInput} (2) on it.
 *
 * @example
 * throw new InputError([{ file: 'sync.yaml', pointer: '/source/stream', expected: 'a stream of connector okki (company)', found: '"compnay"', hint: 'did you mean company?' }]);
 */
export class InputError extends QiaoError {
  /** Kept as `QIAO_SCHEME` (its value before the rename): scripts and run reports match on it. */
  readonly code = 'QIAO_SCHEME' as const;
  readonly problems: Problem[];

  constructor(problems: Problem[] | string, options: QiaoErrorOptions = {}) {
    const list: Problem[] =
      typeof problems === 'string' ? [{ file: options.system ?? 'input', pointer: '', expected: problems }] : problems;
    const head = list.length === 1 ? '1 problem' : `${list.length} problems`;
    super(`${head}:\n  ${list.map(formatProblem).join('\n  ')}`, { reason: 'scheme.invalid', ...options });
    this.problems = list;
  }
}

/**
 * The former name of {@link InputError}, kept so existing imports (`instanceof SchemeError`, `new
 * SchemeError(…)`, the type) keep working.
 * @deprecated use {@link InputError}
 */
export const SchemeError = InputError;
/** @deprecated use {@link InputError} */
export type SchemeError = InputError;

export class ConnectorAuthError extends QiaoError {
  readonly code = 'QIAO_AUTH' as const;
  constructor(message: string, options: QiaoErrorOptions = {}) {
    super(message, { reason: `${options.system ?? 'connector'}.auth`, ...options });
  }
}

export interface RetryableErrorOptions extends QiaoErrorOptions {
  /** The server asked us to wait this long (Retry-After, or a rate-limit code). */
  retryAfterMs?: number;
  /** The token was refused as expired or invalid: refresh it before repeating. */
  tokenExpired?: boolean;
  /**
   * The request may have been applied by the server (a timeout or lost connection after the body
   * was sent). A non-idempotent write must find out before it is repeated.
   */
  outcomeUnknown?: boolean;
}

export class RetryableError extends QiaoError {
  readonly code = 'QIAO_RETRYABLE' as const;
  readonly retryAfterMs: number | undefined;
  readonly tokenExpired: boolean;
  readonly outcomeUnknown: boolean;
  constructor(message: string, options: RetryableErrorOptions = {}) {
    super(message, options);
    this.retryAfterMs = options.retryAfterMs;
    this.tokenExpired = options.tokenExpired ?? false;
    this.outcomeUnknown = options.outcomeUnknown ?? false;
  }
}

export class RecordError extends QiaoError {
  readonly code = 'QIAO_RECORD' as const;
  constructor(message: string, options: QiaoErrorOptions = {}) {
    super(message, { reason: 'record.rejected', ...options });
  }
}

/**
 * Why the state store cannot be used, as `StateError.reason`:
 * - `state.full`: the disk (or the database's size limit) is full;
 * - `state.read_only`: the state directory or database cannot be written;
 * - `state.deleted`: the state directory or database is gone (before opening, or during a run);
 * - `state.corrupt`: the database fails its integrity check, or is not a SQLite database;
 * - `state.unavailable`: another I/O failure (busy for too long, cannot open, I/O error);
 * - `state.lock_lost`: the run's lock was taken over or removed while the run held it.
 */
export type StateErrorReason = 'state.full' | 'state.read_only' | 'state.deleted' | 'state.corrupt' | 'state.unavailable' | 'state.lock_lost';

export interface StateErrorOptions extends QiaoErrorOptions {
  reason: StateErrorReason;
  /** The state directory or database file concerned. */
  path: string;
}

/**
 * The state store cannot be used. Not a bug in qiao and not bad input: the message says what happened
 * and to which path, the hint what to do. The CLI exits with {@link ExitCode.fatal} (3) on it.
 *
 * @example
 * throw new StateError('the state database /srv/qiao/state.db cannot grow: the disk is full', { reason: 'state.full', path: '/srv/qiao/state.db', hint: 'free space on that disk, then run again' });
 */
export class StateError extends QiaoError {
  readonly code = 'QIAO_STATE' as const;
  declare readonly reason: StateErrorReason;
  readonly path: string;
  constructor(message: string, options: StateErrorOptions) {
    super(message, { system: 'state', ...options });
    this.path = options.path;
  }
}

export function isQiaoError(e: unknown): e is QiaoError {
  return e instanceof QiaoError;
}

/** Exit codes of `qiao run` (a contract scripts rely on). */
export const ExitCode = {
  ok: 0,
  partial: 1,
  invalidInput: 2,
  fatal: 3,
} as const;
