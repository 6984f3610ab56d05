import { readFileSync, statSync } from 'node:fs';
import jsonata from 'jsonata';
import { isMap, isSeq, LineCounter, parseDocument, type Node } from 'yaml';
import { createAjv, InputError, problemsFromAjv, type Problem } from '@qiao/core';
import { jsonPathProblem } from '../json-path.js';
import { placeholders } from '../template.js';
import type { RestManifest, RestMatcher, RestRequest } from './rest-manifest-types.js';
import { AUTH_KINDS, PAGINATION_KINDS, restManifestSchema } from './rest-manifest.schema.js';

const ajv = createAjv();
const validateShape = ajv.compile(restManifestSchema);
const cache = new Map<string, { mtimeMs: number; size: number; manifest: RestManifest }>();

/**
 * Reads a REST manifest file (YAML or JSON) and checks it as a whole: its shape (ajv), then every
 * JSONPath, JSONata expression, `{{placeholder}}` and embedded JSON Schema in it. Throws one
 * {@link InputError} listing every problem with its JSON pointer, line and a hint. Cached by path,
 * size and modification time.
 */
export function loadRestManifest(path: string): RestManifest {
  let text: string;
  let stat;
  try {
    stat = statSync(path);
    const hit = cache.get(path);
    if (hit && hit.mtimeMs === stat.mtimeMs && hit.size === stat.size) return hit.manifest;
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new InputError([
      {
        file: path,
        pointer: '',
        expected: 'a readable REST manifest file (YAML or JSON)',
        found: (e as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (e as Error).message,
        hint: 'connection.manifest is relative to the scheme file; check the path',
      },
    ]);
  }
  const manifest = parseRestManifest(text, path);
  cache.set(path, { mtimeMs: stat.mtimeMs, size: stat.size, manifest });
  return manifest;
}

/** As {@link loadRestManifest}, for a manifest's text. */
export function parseRestManifest(text: string, file: string): RestManifest {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, intAsBigInt: false });
  if (doc.errors.length > 0) {
    throw new InputError(
      doc.errors.map((e) => ({
        file,
        pointer: '',
        line: e.linePos?.[0]?.line,
        expected: 'valid YAML or JSON',
        found: e.message.split('\n')[0],
        hint: 'fix the syntax at that line',
      })),
      { system: file },
    );
  }
  const data = doc.toJS() as unknown;
  const lineOf = (pointer: string): number | undefined => {
    const parts = pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
    let node: unknown = doc.contents;
    let found: Node | undefined;
    for (const part of parts) {
      if (isMap(node)) {
        const pair = node.items.find((p) => String((p.key as { value?: unknown })?.value ?? p.key) === part);
        if (!pair) break;
        found = (pair.key as Node) ?? found;
        node = pair.value;
      } else if (isSeq(node)) {
        node = node.items[Number(part)];
        if (node) found = node as Node;
      } else break;
    }
    const start = found?.range?.[0];
    return start === undefined ? undefined : lines.linePos(start).line;
  };
  const withLine = (p: Problem): Problem => {
    const line = lineOf(p.pointer);
    return line ? { ...p, line } : p;
  };

  if (!validateShape(data)) {
    const problems = problemsFromAjv(validateShape.errors, file, data, '', (e) => hintFor(e.instancePath, e.keyword, e.params as Record<string, unknown>));
    // an if/then branch repeats the kind's errors as "must match then": left out
    throw new InputError(problems.filter((p) => !/must match "then" schema/.test(p.expected)).map(withLine), { system: file });
  }
  const m = data as RestManifest;
  const problems = checkRestManifest(m, file).map(withLine);
  if (problems.length > 0) throw new InputError(problems, { system: file });
  return m;
}

function hintFor(instancePath: string, keyword: string, params: Record<string, unknown>): string | undefined {
  if (keyword === 'enum' && instancePath.endsWith('/pagination/kind')) return `pagination kinds: ${PAGINATION_KINDS.join(', ')} (see the package README)`;
  if (keyword === 'enum' && instancePath.endsWith('/auth/kind')) return `auth kinds: ${AUTH_KINDS.join(', ')}`;
  if (keyword === 'required') {
    const missing = String(params.missingProperty);
    if (missing === 'records') return 'give the JSONPath of the rows in a list answer, e.g. records: $.data.list';
    if (missing === 'primaryKey') return 'name the field that identifies a row, e.g. primaryKey: id';
    return `add ${missing}`;
  }
  if (keyword === 'additionalProperties') return `remove ${String(params.additionalProperty)}, or check its spelling (see the package README for the fields of this block)`;
  if (keyword === 'pattern' && /\/(id)$/.test(instancePath)) return 'lower-case letters, digits, - . and _; starting with a letter';
  return undefined;
}

/** The checks a schema cannot make: JSONPaths, JSONata, placeholders, embedded schemas, unique ids. */
export function checkRestManifest(m: RestManifest, file: string): Problem[] {
  const problems: Problem[] = [];
  const connectionFields = new Set(Object.keys(m.connection.properties ?? {}));

  const path = (value: string | undefined, pointer: string): void => {
    if (value === undefined) return;
    const why = jsonPathProblem(value);
    if (why) problems.push({ file, pointer, expected: 'a JSONPath like $.data.list', found: `${JSON.stringify(value)}: ${why}`, hint: 'JSONPath starts at $; members with . or [\'name\'], every bracket closed' });
  };
  const expression = (value: string | undefined, pointer: string): void => {
    if (value === undefined) return;
    try {
      jsonata(value);
    } catch (e) {
      const err = e as { message?: string; position?: number; token?: string };
      problems.push({
        file,
        pointer,
        expected: 'a JSONata expression',
        found: `${JSON.stringify(value)}: ${err.message ?? String(e)}${err.position !== undefined ? ` (at character ${err.position})` : ''}`,
        hint: 'try the expression at try.jsonata.org-style playgrounds or `qiao preview`; quote field names with spaces in backticks',
      });
    }
  };
  const template = (value: unknown, pointer: string, scopes: string[]): void => {
    for (const name of placeholders(value)) {
      const [scope, field] = name.split('.', 2) as [string, string | undefined];
      if (!scopes.includes(scope)) {
        problems.push({ file, pointer, expected: `placeholders of ${scopes.map((s) => `{{${s}…}}`).join(', ')}`, found: `{{${name}}}`, hint: `only ${scopes.join(', ')} are known here` });
      } else if (scope === 'connection' && field !== undefined && !connectionFields.has(field)) {
        problems.push({ file, pointer, expected: `a field declared under connection.properties`, found: `{{${name}}}`, hint: `declare ${field} in connection.properties, or fix the name (${[...connectionFields].join(', ')})` });
      }
    }
  };
  const templates = (map: Record<string, unknown> | undefined, pointer: string, scopes: string[]): void => {
    for (const [k, v] of Object.entries(map ?? {})) template(v, `${pointer}/${k}`, scopes);
  };
  const request = (r: RestRequest, pointer: string, scopes: string[]): void => {
    template(r.path, `${pointer}/path`, scopes);
    templates(r.query, `${pointer}/query`, scopes);
    templates(r.headers, `${pointer}/headers`, scopes);
    expression(r.body, `${pointer}/body`);
  };
  const schema = (s: object | undefined, pointer: string): void => {
    if (s === undefined) return;
    try {
      createAjv().compile(s);
    } catch (e) {
      problems.push({ file, pointer, expected: 'a valid JSON Schema', found: (e as Error).message, hint: 'see json-schema.org for the keywords' });
    }
  };
  const matchers = (list: RestMatcher[] | undefined, pointer: string): void =>
    list?.forEach((x, i) => {
      if (typeof x === 'object' && 'path' in x) path(x.path, `${pointer}/${i}/path`);
      if (typeof x === 'object' && 'http' in x && typeof x.http === 'string' && !/^[1-5]xx$/.test(x.http)) {
        problems.push({ file, pointer: `${pointer}/${i}/http`, expected: 'an HTTP status, a list of them, or a class like "5xx"', found: JSON.stringify(x.http) });
      }
    });

  template(m.baseUrl, '/baseUrl', ['connection']);
  schema(m.connection, '/connection');
  const a = m.auth;
  if (a.kind === 'api_key') template(a.value, '/auth/value', ['connection']);
  if (a.kind === 'bearer') template(a.token, '/auth/token', ['connection']);
  if (a.kind === 'basic') {
    template(a.username, '/auth/username', ['connection']);
    template(a.password, '/auth/password', ['connection']);
  }
  if (a.kind === 'oauth2_client_credentials' || a.kind === 'signed_token') {
    template(a.tokenUrl, '/auth/tokenUrl', ['connection']);
    templates(a.params, '/auth/params', ['connection', 'now']);
    path(a.tokenPath, '/auth/tokenPath');
    path(a.expiresInPath, '/auth/expiresInPath');
  }
  if (a.kind === 'signed_token') template(a.signature.key, '/auth/signature/key', ['connection']);

  const e = m.envelope;
  path(e.status, '/envelope/status');
  (Array.isArray(e.message) ? e.message : e.message ? [e.message] : []).forEach((p, i) => path(p, Array.isArray(e.message) ? `/envelope/message/${i}` : '/envelope/message'));
  for (const k of ['ok', 'notFound', 'tokenExpired', 'rateLimited', 'retry', 'recordError', 'fatal'] as const) matchers(e[k], `/envelope/${k}`);
  if (!e.status) {
    for (const k of ['ok', 'notFound', 'tokenExpired', 'rateLimited', 'retry', 'recordError', 'fatal'] as const) {
      e[k]?.forEach((x, i) => {
        if (typeof x !== 'object') problems.push({ file, pointer: `/envelope/${k}/${i}`, expected: 'an {http: …} or {path, in} rule (there is no envelope.status to compare a value with)', found: JSON.stringify(x), hint: 'set envelope.status to the JSONPath of the status field' });
      });
    }
  }

  const ids = new Set<string>();
  m.streams.forEach((s, i) => {
    const at = `/streams/${i}`;
    if (ids.has(s.id)) problems.push({ file, pointer: `${at}/id`, expected: 'a unique id', found: JSON.stringify(s.id), hint: 'rename one of them' });
    ids.add(s.id);
    request(s.request, `${at}/request`, ['connection', 'params']);
    schema(s.params, `${at}/params`);
    schema(s.record, `${at}/record`);
    path(s.records, `${at}/records`);
    const p = s.pagination;
    if (p.kind === 'page_number' || p.kind === 'offset') path(p.total, `${at}/pagination/total`);
    if (p.kind === 'page_number') template(p.start, `${at}/pagination/start`, ['params', 'connection']);
    if ((p.kind === 'page_number' || p.kind === 'offset') && p.size) template(p.size.value, `${at}/pagination/size/value`, ['params', 'connection']);
    if (p.kind === 'cursor') path(p.next, `${at}/pagination/next`);
    if (s.detail) {
      template(s.detail.path, `${at}/detail/path`, ['connection', 'params', 'key', 'record']);
      templates(s.detail.query, `${at}/detail/query`, ['connection', 'params', 'key', 'record']);
      path(s.detail.data, `${at}/detail/data`);
    }
    const inc = s.incremental;
    if (inc) {
      path(inc.serverClock, `${at}/incremental/serverClock`);
      templates(inc.params, `${at}/incremental/params`, ['connection', 'params']);
      if (!['iso', 'epoch_ms', 'epoch_s'].includes(inc.format) && !/YYYY/.test(inc.format)) {
        problems.push({ file, pointer: `${at}/incremental/format`, expected: 'a date format with YYYY MM DD HH mm ss tokens, or iso, epoch_ms, epoch_s', found: JSON.stringify(inc.format), hint: 'e.g. "YYYY-MM-DD HH:mm:ss"' });
      }
    }
    expression(s.transform, `${at}/transform`);
    if (s.deletions) templates(s.deletions.query, `${at}/deletions/query`, ['connection', 'params']);
  });
  (m.operations ?? []).forEach((o, i) => {
    const at = `/operations/${i}`;
    if (ids.has(o.id)) problems.push({ file, pointer: `${at}/id`, expected: 'a unique id (streams and operations share them)', found: JSON.stringify(o.id), hint: 'rename one of them' });
    ids.add(o.id);
    schema(o.input, `${at}/input`);
    request(o.lookup.request, `${at}/lookup/request`, ['connection', 'payload', 'key']);
    path(o.lookup.records, `${at}/lookup/records`);
    request(o.insert, `${at}/insert`, ['connection', 'payload', 'key']);
    request(o.update, `${at}/update`, ['connection', 'payload', 'key', 'found']);
    path(o.resultId, `${at}/resultId`);
  });
  return problems;
}
