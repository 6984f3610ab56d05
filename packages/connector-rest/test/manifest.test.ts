import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { InputError } from '@qiao/core';
import { loadRestManifest, parseRestManifest } from '../src/index.js';

const OKKI = fileURLToPath(new URL('../examples/okki.company.rest.yaml', import.meta.url));

function problemsOf(text: string) {
  try {
    parseRestManifest(text, 'broken.rest.yaml');
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as InputError).problems;
  }
  throw new Error('the manifest was accepted');
}

const base = `id: crm
name: CRM
version: 0.1.0
baseUrl: "{{connection.baseUrl}}"
connection:
  type: object
  properties:
    baseUrl: { type: string }
    token: { type: string, x-secret: true }
auth: { kind: bearer, token: "{{connection.token}}" }
envelope: {}
streams:
  - id: customers
    label: Customers
    request: { path: /customers }
    records: $.items
    primaryKey: id
    pagination: { kind: page_number, param: page }
`;

describe('REST manifest validation', () => {
  it('accepts the OKKI example', () => {
    const m = loadRestManifest(OKKI);
    expect(m.streams.map((s) => s.id)).toEqual(['company']);
    expect(m.auth.kind).toBe('oauth2_client_credentials');
  });

  it('accepts a small manifest', () => {
    expect(parseRestManifest(base, 'ok.rest.yaml').streams[0]!.pagination.kind).toBe('page_number');
  });

  it('reports a wrong pagination kind with its pointer, line and the kinds there are', () => {
    const problems = problemsOf(base.replace('kind: page_number', 'kind: pages'));
    const p = problems.find((x) => x.pointer === '/streams/0/pagination/kind');
    expect(p, JSON.stringify(problems)).toBeDefined();
    expect(p!.hint).toContain('page_number, offset, cursor, link_header');
    expect(p!.line).toBe(18);
  });

  it('reports a missing records path with a hint', () => {
    const problems = problemsOf(base.replace('    records: $.items\n', ''));
    expect(problems).toContainEqual(expect.objectContaining({ pointer: '/streams/0/records', hint: expect.stringContaining('JSONPath') }));
  });

  it('reports a bad JSONPath, a bad JSONata expression and an unknown placeholder, all at once', () => {
    const problems = problemsOf(
      base.replace('records: $.items', 'records: $.items[0').replace('primaryKey: id', 'primaryKey: id\n    transform: \'$merge([$, {\'').replace('{ path: /customers }', '{ path: "/customers/{{connection.host}}" }'),
    );
    expect(problems.map((p) => p.pointer).sort()).toEqual(['/streams/0/records', '/streams/0/request/path', '/streams/0/transform']);
    expect(problems.find((p) => p.pointer === '/streams/0/records')!.found).toContain('bracket');
    expect(problems.find((p) => p.pointer === '/streams/0/request/path')!.hint).toContain('declare host');
  });

  it('requires the fields of a kind (cursor pagination needs next)', () => {
    const problems = problemsOf(base.replace('{ kind: page_number, param: page }', '{ kind: cursor, param: after }'));
    expect(problems).toContainEqual(expect.objectContaining({ pointer: '/streams/0/pagination/next' }));
  });
});
