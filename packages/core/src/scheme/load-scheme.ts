import { open, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { LineCounter, parseDocument, isNode, type Document } from 'yaml';
import type { ConnectorPlugin } from '../contracts/connector-plugin.js';
import { SchemeError, type Problem } from '../errors/errors.js';
import { redact } from '../http/redact.js';
import type { Limits } from '../contracts/limits.js';
import { compileQuickCheck, compileSchema, describe, pointerEscape, problemsFromAjv, valueAt } from '../manifest/ajv.js';
import { secretFields } from '../manifest/load-manifest.js';
import type { ConnectorManifest, OperationManifest, StreamManifest } from '../manifest/manifest-types.js';
import { DeclarativeMapper, type MappingSpec } from '../mapping/declarative.mapper.js';
import { hasEnvPlaceholder, parseDuration, resolveEnv } from './resolve-env.js';
import { schemeSchema } from './scheme.schema.js';

/** A scheme file as written (after `${env:…}` resolution). */
export interface SchemeFile {
  version: 1;
  id: string;
  name?: string;
  description?: string;
  source: {
    connector: string;
    stream: string;
    connection?: Record<string, unknown>;
    params?: Record<string, unknown>;
    detail?: boolean;
    incremental?: boolean | { lookback?: string | number };
    limits?: Limits;
  };
  target: {
    connector: string;
    operation: string;
    connection?: Record<string, unknown>;
    limits?: Limits;
  };
  mapping: MappingSpec;
  schedule?: { cron: string; timezone?: string };
  alerts?: {
    webhooks?: { type: 'dingtalk' | 'wecom' | 'feishu'; url: string; secret?: string }[];
    deadLetterThreshold?: number;
    pageUrl?: string;
  };
}

/** Finds connector plugins by id. The CLI's resolver maps `okki` → `@qiao/connector-okki`. */
export interface ConnectorResolver {
  resolve(id: string): Promise<ConnectorPlugin | undefined>;
  /** Ids of the connectors that can be resolved, for "did you mean". */
  known(): string[];
  /** The npm package that would provide connector `id`. */
  packageName(id: string): string;
}

export interface ResolvedEndpoint {
  plugin: ConnectorPlugin;
  manifest: ConnectorManifest;
  connection: Record<string, unknown>;
  limits: Limits;
  /** Secret values of this connection (for redaction). */
  secrets: string[];
}

export interface LoadedScheme {
  file: string;
  scheme: SchemeFile;
  source: ResolvedEndpoint & {
    stream: StreamManifest;
    params: Record<string, unknown>;
    detail: boolean;
    incremental: boolean;
    lookbackMs: number;
  };
  target: ResolvedEndpoint & { operation: OperationManifest };
  mapper: DeclarativeMapper;
  /** Checks a mapped payload against the operation's input schema; `[]` when it passes. */
  checkPayload(payload: unknown): Problem[];
  /** Things that work but should be fixed (a literal secret in a file meant to be shared). */
  warnings: Problem[];
  /** Every secret value in the scheme, for redaction. */
  secrets: string[];
}

export interface LoadSchemeOptions {
  env?: Record<string, string | undefined>;
  resolver: ConnectorResolver;
  /** Scheme text, when it is not read from `file`. */
  text?: string;
}

/** Largest scheme file accepted. */
export const MAX_SCHEME_BYTES = 1024 * 1024;

/**
 * Reads, resolves and validates a scheme as a whole before anything runs: syntax, `${env:…}`, the scheme
 * schema, the connectors, streams and operations it names, connection and params against the manifests,
 * then the mapping expressions. Throws one {@link SchemeError} listing every problem found.
 */
export async function loadScheme(file: string, options: LoadSchemeOptions): Promise<LoadedScheme> {
  const env = options.env ?? process.env;
  const text = options.text ?? (await readSchemeText(file));
  const { raw, doc, lines } = parseText(file, text);
  const lineOf = (pointer: string) => lineAt(doc, lines, pointer);
  const withLines = (ps: Problem[]) => ps.map((p) => (p.line ? p : { ...p, ...(lineOf(p.pointer) ? { line: lineOf(p.pointer) } : {}) }));

  const envResult = resolveEnv(raw, env, file);
  const problems: Problem[] = [...envResult.problems];
  const resolved = envResult.value;

  const validateScheme = compileSchema(schemeSchema, { coerceTypes: true });
  if (!validateScheme(resolved)) {
    problems.push(
      ...problemsFromAjv(validateScheme.errors, file, resolved, '', (e) =>
        e.keyword === 'additionalProperties'
          ? `remove it, or check its spelling; allowed here: ${Object.keys(schemaAt(e.schemaPath) ?? {}).join(', ')}`
          : undefined,
      ),
    );
    throw new SchemeError(await hideSecrets(withLines(problems), resolved, envResult.variables, options.resolver), { system: file });
  }
  const scheme = resolved as unknown as SchemeFile;

  const [sourcePlugin, targetPlugin] = await Promise.all([
    resolvePlugin(scheme.source.connector, '/source/connector', file, options.resolver, problems),
    resolvePlugin(scheme.target.connector, '/target/connector', file, options.resolver, problems),
  ]);

  let stream: StreamManifest | undefined;
  let params: Record<string, unknown> = {};
  let sourceConnection: Record<string, unknown> = {};
  if (sourcePlugin) {
    const m = sourcePlugin.manifest;
    stream = m.streams.find((s) => s.id === scheme.source.stream);
    if (!stream) {
      problems.push({
        file,
        pointer: '/source/stream',
        expected: `a stream of connector ${m.id} (${m.streams.map((s) => s.id).join(', ') || 'it has none'})`,
        found: JSON.stringify(scheme.source.stream),
        hint: `see \`qiao connectors describe ${m.id}\``,
      });
    } else {
      params = checkAgainst(stream.params, scheme.source.params ?? {}, file, '/source/params', problems);
    }
    sourceConnection = checkAgainst(m.connection, scheme.source.connection ?? {}, file, '/source/connection', problems);
  }

  let operation: OperationManifest | undefined;
  let targetConnection: Record<string, unknown> = {};
  if (targetPlugin) {
    const m = targetPlugin.manifest;
    operation = m.operations.find((o) => o.id === scheme.target.operation);
    if (!operation) {
      problems.push({
        file,
        pointer: '/target/operation',
        expected: `an operation of connector ${m.id} (${m.operations.map((o) => o.id).join(', ') || 'it has none'})`,
        found: JSON.stringify(scheme.target.operation),
        hint: `see \`qiao connectors describe ${m.id}\``,
      });
    }
    targetConnection = checkAgainst(m.connection, scheme.target.connection ?? {}, file, '/target/connection', problems);
  }

  const { mapper, problems: mappingProblems } = DeclarativeMapper.compile(scheme.mapping, file);
  problems.push(...mappingProblems);
  if (operation && operation.input.additionalProperties === false) {
    const known = Object.keys(operation.input.properties ?? {});
    for (const target of Object.keys(scheme.mapping)) {
      const head = target.split('.')[0]!;
      if (!known.includes(head)) {
        problems.push({
          file,
          pointer: `/mapping/${pointerEscape(target)}`,
          expected: `a field of ${scheme.target.connector} ${operation.id}`,
          found: JSON.stringify(head),
          hint: closest(head, known) ? `did you mean ${closest(head, known)}?` : `see \`qiao connectors describe ${scheme.target.connector}\``,
        });
      }
    }
  }

  let lookbackMs = 0;
  const inc = scheme.source.incremental;
  if (typeof inc === 'object' && inc.lookback !== undefined) {
    const d = parseDuration(inc.lookback);
    if (d === undefined) {
      problems.push({
        file,
        pointer: '/source/incremental/lookback',
        expected: 'a duration such as 10m, 1h, 30s or a number of milliseconds',
        found: describe(inc.lookback),
      });
    } else lookbackMs = d;
  }
  if (inc && stream && !stream.cursor) {
    problems.push({
      file,
      pointer: '/source/incremental',
      expected: `a stream with a cursor for incremental reads (stream ${stream.id} has none)`,
      found: JSON.stringify(inc),
      hint: 'remove source.incremental',
    });
  }

  if (problems.length || !sourcePlugin || !targetPlugin || !stream || !operation) {
    // A setting left out because its variable is unset is reported once, as the missing variable.
    const unset = new Set(envResult.problems.map((p) => p.pointer));
    const reported = problems
      .filter((p, i) => i < envResult.problems.length || !(unset.has(p.pointer) && p.found === 'nothing'))
      .map((p) => withEnvNames(p, raw));
    throw new SchemeError(await hideSecrets(withLines(reported), resolved, envResult.variables, options.resolver), { system: file });
  }

  const warnings: Problem[] = [];
  const secretsOf = (plugin: ConnectorPlugin, conn: Record<string, unknown>, side: 'source' | 'target') => {
    const values: string[] = [];
    for (const field of secretFields(plugin.manifest)) {
      const v = conn[field];
      if (typeof v === 'string' && v) values.push(v);
      const rawValue = valueAt(raw, `/${side}/connection/${pointerEscape(field)}`);
      if (typeof rawValue === 'string' && rawValue !== '' && !hasEnvPlaceholder(rawValue)) {
        const pointer = `/${side}/connection/${pointerEscape(field)}`;
        const line = lineOf(pointer);
        warnings.push({
          file,
          pointer,
          ...(line ? { line } : {}),
          expected: `\${env:…} for the secret field ${field}`,
          found: 'a literal value',
          hint: `write ${field}: \${env:${plugin.manifest.id.toUpperCase()}_${snake(field)}} so the file can be shared without the secret`,
        });
      }
    }
    return values;
  };
  const sourceSecrets = secretsOf(sourcePlugin, sourceConnection, 'source');
  const targetSecrets = secretsOf(targetPlugin, targetConnection, 'target');
  const webhookSecrets = (scheme.alerts?.webhooks ?? []).flatMap((w) => (w.secret ? [w.secret] : []));
  (scheme.alerts?.webhooks ?? []).forEach((w, i) => {
    const pointer = `/alerts/webhooks/${i}/secret`;
    const rawValue = valueAt(raw, pointer);
    if (typeof rawValue === 'string' && rawValue !== '' && !hasEnvPlaceholder(rawValue)) {
      const line = lineOf(pointer);
      warnings.push({
        file,
        pointer,
        ...(line ? { line } : {}),
        expected: `\${env:…} for the ${w.type} webhook's signing secret`,
        found: 'a literal value',
        hint: `write secret: \${env:${w.type.toUpperCase()}_WEBHOOK_SECRET} so the file can be shared without it`,
      });
    }
  });

  // The usual payload passes the quick check; the full validator (compiled when first needed: for a
  // 60-field input that is tens of milliseconds) decides the rest and says why.
  const quick = compileQuickCheck(operation.input as Record<string, unknown>);
  let validateInput: ReturnType<typeof compileSchema> | undefined;
  const checkPayload = (payload: unknown): Problem[] => {
    if (quick?.(payload)) return [];
    validateInput ??= compileSchema(operation.input);
    return validateInput(payload) ? [] : problemsFromAjv(validateInput.errors, `${targetPlugin.manifest.id} ${operation.id} payload`, payload);
  };

  return {
    file,
    scheme,
    source: {
      plugin: sourcePlugin,
      manifest: sourcePlugin.manifest,
      connection: sourceConnection,
      limits: { ...sourcePlugin.manifest.limits, ...scheme.source.limits },
      secrets: sourceSecrets,
      stream,
      params,
      detail: scheme.source.detail ?? Boolean(stream.detail),
      incremental: inc === undefined ? Boolean(stream.cursor) : inc !== false,
      lookbackMs,
    },
    target: {
      plugin: targetPlugin,
      manifest: targetPlugin.manifest,
      connection: targetConnection,
      limits: { ...targetPlugin.manifest.limits, ...scheme.target.limits },
      secrets: targetSecrets,
      operation,
    },
    mapper,
    checkPayload,
    warnings,
    secrets: [...sourceSecrets, ...targetSecrets, ...webhookSecrets],
  };
}

/** Names of variables (and of settings, when no manifest says) whose values are taken for secrets. */
const SECRET_NAME = /secret|passw(or)?d|credential|private_?key|api_?key|token$/i;

/**
 * Removes secret values from the problems of a scheme that failed validation (a problem's `found` is
 * never a secret, even when a secret variable is used in the wrong place): the values of the
 * connections' secret fields (`x-secret` in the manifest, or a secret-looking name when the connector
 * is unknown), of webhook secrets, and of every `${env:…}` variable with a secret-looking name.
 */
async function hideSecrets(problems: Problem[], resolved: unknown, variables: Record<string, string>, resolver: ConnectorResolver): Promise<Problem[]> {
  const secrets = Object.entries(variables).filter(([name]) => SECRET_NAME.test(name)).map(([, v]) => v);
  for (const side of ['source', 'target']) {
    const connection = valueAt(resolved, `/${side}/connection`);
    if (connection === null || typeof connection !== 'object') continue;
    const connector = valueAt(resolved, `/${side}/connector`);
    const plugin =
      typeof connector === 'string' ? await Promise.resolve().then(() => resolver.resolve(connector)).catch(() => undefined) : undefined;
    const fields = plugin ? new Set(secretFields(plugin.manifest)) : undefined;
    for (const [key, value] of Object.entries(connection)) {
      if (typeof value === 'string' && (fields ? fields.has(key) : SECRET_NAME.test(key))) secrets.push(value);
    }
  }
  const webhooks = valueAt(resolved, '/alerts/webhooks');
  for (const w of Array.isArray(webhooks) ? webhooks : []) {
    const secret = (w as { secret?: unknown } | null)?.secret;
    if (typeof secret === 'string') secrets.push(secret);
  }
  if (secrets.length === 0) return problems;
  return problems.map((p) => {
    const out: Problem = { ...p, expected: redact(p.expected, secrets) };
    // What was found is described, not shown, once it holds a secret: a parser's message about it
    // (JSONata quotes the token it stopped at) may hold a piece of the secret that redaction misses.
    if (p.found !== undefined) out.found = redact(p.found, secrets) === p.found ? p.found : 'a value holding a secret (not shown)';
    if (p.hint !== undefined) out.hint = redact(p.hint, secrets);
    return out;
  });
}

async function readSchemeText(file: string): Promise<string> {
  let buf: Buffer;
  try {
    buf = await readAtMost(file, MAX_SCHEME_BYTES + 1);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new SchemeError([
      {
        file,
        pointer: '',
        expected: 'a readable scheme file',
        found: code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a directory' : String(code ?? (e as Error).message),
        hint: 'check the path, or create one with `qiao init <file> --template okki-to-yonbip`',
      },
    ]);
  }
  if (buf.length > MAX_SCHEME_BYTES) {
    const size = await stat(file).then((st) => (st.isFile() ? st.size : undefined), () => undefined);
    throw new SchemeError([
      {
        file,
        pointer: '',
        expected: `a scheme file of at most ${MAX_SCHEME_BYTES / 1024} KiB`,
        found: size === undefined ? `more than ${MAX_SCHEME_BYTES / 1024} KiB` : `${Math.round(size / 1024)} KiB`,
        hint: 'a scheme holds settings and a mapping, not data; check that this is the right file',
      },
    ]);
  }
  // A byte-order mark (Windows editors write one) is not part of the document; JSON.parse refuses it.
  const text = buf.toString('utf8').replace(/^\uFEFF/, '');
  if (buf.includes(0) || text.includes('\uFFFD')) {
    throw new SchemeError([
      { file, pointer: '', expected: 'a UTF-8 text file (YAML or JSON)', found: 'binary data', hint: 'check that this is the right file' },
    ]);
  }
  return text;
}

/**
 * Reads at most `limit` bytes: a device or pipe named as the scheme (`/dev/zero`, a FIFO) cannot make
 * qiao read without end.
 */
async function readAtMost(file: string, limit: number): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    while (total < limit) {
      const chunk = Buffer.alloc(Math.min(64 * 1024, limit - total));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      total += bytesRead;
    }
    return Buffer.concat(chunks, total);
  } finally {
    await handle.close();
  }
}

/** Deepest nesting a scheme may have; real schemes stay under 10 levels. */
export const MAX_SCHEME_DEPTH = 64;

/** Whether `value` nests objects or arrays deeper than `max` levels (checked without recursion). */
function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > max) return true;
    for (const child of Object.values(v as Record<string, unknown>)) stack.push([child, depth + 1]);
  }
  return false;
}

function notAnObject(file: string, raw: unknown): SchemeError {
  return new SchemeError([
    { file, pointer: '', expected: 'a scheme object (version, id, source, target, mapping)', found: describe(raw), hint: 'start from `qiao init <file> --template okki-to-yonbip`' },
  ]);
}

function tooDeep(file: string): SchemeError {
  return new SchemeError([
    {
      file,
      pointer: '',
      expected: `a scheme nested at most ${MAX_SCHEME_DEPTH} levels deep`,
      found: 'deeper nesting',
      hint: 'a scheme holds settings and a mapping, not data; check that this is the right file',
    },
  ]);
}

function parseText(file: string, text: string): { raw: unknown; doc: Document | undefined; lines: LineCounter } {
  const lines = new LineCounter();
  const isJson = extname(file).toLowerCase() === '.json';
  if (isJson) {
    try {
      const raw: unknown = JSON.parse(text);
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw notAnObject(file, raw);
      if (nestedDeeperThan(raw, MAX_SCHEME_DEPTH)) throw tooDeep(file);
      return { raw, doc: parseDocument(text, { lineCounter: lines }), lines };
    } catch (e) {
      if (e instanceof SchemeError) throw e;
      // V8 quotes the text around the error ("…" is not valid JSON); that text may hold a literal secret.
      const msg = (e as Error).message.replace(/,\s*(?:\.\.\.)?".*" is not valid JSON$/s, '');
      const pos = /position (\d+)/.exec(msg);
      const line = pos ? text.slice(0, Number(pos[1])).split('\n').length : undefined;
      throw new SchemeError([
        {
          file,
          pointer: '',
          ...(line ? { line } : {}),
          expected: 'valid JSON',
          found: `a syntax error (${msg})`,
          hint: 'check commas, quotes and brackets near that line',
        },
      ]);
    }
  }
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) {
    throw new SchemeError(
      doc.errors.map((err) => {
        const line = lines.linePos(err.pos[0]).line;
        return {
          file,
          pointer: '',
          line,
          expected: 'valid YAML',
          found: `a syntax error (${err.message.split('\n')[0]})`,
          hint: 'check indentation, colons and quotes near that line',
        };
      }),
    );
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    // yaml refuses alias expansion beyond maxAliasCount ("billion laughs") with a ReferenceError.
    throw new SchemeError([
      {
        file,
        pointer: '',
        expected: 'valid YAML',
        found: `a document that cannot be expanded (${(e as Error).message})`,
        hint: 'a scheme needs few or no aliases (*name); write the values out',
      },
    ]);
  }
  if (nestedDeeperThan(raw, MAX_SCHEME_DEPTH)) throw tooDeep(file);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw notAnObject(file, raw);
  return { raw, doc, lines };
}

function lineAt(doc: Document | undefined, lines: LineCounter, pointer: string): number | undefined {
  if (!doc || !pointer) return undefined;
  const path = pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  for (let n = path.length; n > 0; n--) {
    const node = doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) return lines.linePos(node.range[0]).line;
  }
  return undefined;
}

async function resolvePlugin(
  id: string,
  pointer: string,
  file: string,
  resolver: ConnectorResolver,
  problems: Problem[],
): Promise<ConnectorPlugin | undefined> {
  let plugin: ConnectorPlugin | undefined;
  try {
    plugin = await resolver.resolve(id);
  } catch (e) {
    problems.push({ file, pointer, expected: `a loadable connector package ${resolver.packageName(id)}`, found: (e as Error).message });
    return undefined;
  }
  if (!plugin) {
    const known = resolver.known();
    problems.push({
      file,
      pointer,
      expected: `a known connector (${known.join(', ')})`,
      found: JSON.stringify(id),
      hint: closest(id, known)
        ? `did you mean ${closest(id, known)}?`
        : `install the package ${resolver.packageName(id)}, or use one of ${known.join(', ')}`,
    });
  }
  return plugin;
}

/** Validates `value` against `schema` (defaults applied, numeric strings coerced) and returns the result. */
function checkAgainst(
  schema: object,
  value: Record<string, unknown>,
  file: string,
  pointer: string,
  problems: Problem[],
): Record<string, unknown> {
  const copy = structuredClone(value);
  const validate = compileSchema(schema, { useDefaults: true, coerceTypes: true });
  if (!validate(copy)) {
    problems.push(
      ...problemsFromAjv(validate.errors, file, copy, pointer, (e) =>
        e.keyword === 'additionalProperties' ? `allowed here: ${Object.keys((schema as { properties?: object }).properties ?? {}).join(', ')}` : undefined,
      ),
    );
  }
  return copy;
}

function schemaAt(schemaPath: string): Record<string, unknown> | undefined {
  // "#/properties/source/additionalProperties" → properties of that object
  const parts = schemaPath.replace(/^#\//, '').split('/').slice(0, -1);
  let cur: unknown = schemeSchema;
  for (const p of parts) cur = (cur as Record<string, unknown> | undefined)?.[p];
  return (cur as { properties?: Record<string, unknown> } | undefined)?.properties;
}

/** In a "one of: a, or b + c" problem, names the environment variables the file reads those settings from. */
function withEnvNames(p: Problem, raw: unknown): Problem {
  if (!p.expected.startsWith('one of: ')) return p;
  const names = p.expected.slice('one of: '.length).split(', or ').map((option) =>
    option
      .split(' + ')
      .map((field) => {
        const v = valueAt(raw, `${p.pointer}/${pointerEscape(field)}`);
        const m = typeof v === 'string' ? /^\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-[^}]*)?\}$/.exec(v) : null;
        return m ? `${field} (${m[1]})` : field;
      })
      .join(' + '),
  );
  return { ...p, hint: `set ${names.join(', or ')}` };
}

function snake(s: string): string {
  return s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();
}

/** The known name closest to `name` (edit distance ≤ 2), for "did you mean". */
export function closest(name: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const k of known) {
    const d = distance(name.toLowerCase(), k.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best;
}

function distance(a: string, b: string): number {
  const dp = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array<number>(b.length).fill(0)]);
  for (let j = 1; j <= b.length; j++) dp[0]![j] = j;
  for (let i = 1; i <= a.length; i++)
    for (let j = 1; j <= b.length; j++)
      dp[i]![j] = Math.min(dp[i - 1]![j]! + 1, dp[i]![j - 1]! + 1, dp[i - 1]![j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
  return dp[a.length]![b.length]!;
}
