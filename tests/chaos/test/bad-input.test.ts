import { randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { BIP_SECRET, FIXTURES, OKKI_SECRET, TEMPLATE, findSecrets, qiao, removeDir, stackLines, tempDir } from './helpers.js';

const CORPUS = join(FIXTURES, 'bad-schemes');
const dir = tempDir('qiao-bad-input-');
const state = join(dir, 'state');

/** Every variable the template reads, pointing at a port where nothing listens: no case may get that far. */
const ENV: Record<string, string> = {
  OKKI_BASE_URL: 'http://127.0.0.1:9',
  OKKI_CLIENT_ID: 'bad-input-client',
  OKKI_CLIENT_SECRET: OKKI_SECRET,
  YONBIP_TENANT_ID: 'bad-input-tenant',
  YONBIP_DATA_CENTER_URL: 'http://127.0.0.1:9',
  YONBIP_APP_KEY: 'bad-input-app',
  YONBIP_APP_SECRET: BIP_SECRET,
  YONBIP_CREATE_ORG: '1870412293664489473',
  YONBIP_CUSTOMER_CLASS: '1870412293664489611',
};

interface Case {
  /** What is wrong. */
  name: string;
  file: string;
  /** What the message must say. */
  says: RegExp;
  env?: Record<string, string>;
  /** The path the message names, when it is not `file` (a directory's own path, say). */
  names?: string;
}

const template = readFileSync(TEMPLATE, 'utf8');
const write = (name: string, content: string | Buffer) => {
  const file = join(dir, name);
  writeFileSync(file, content);
  return file;
};

/** What each file of the corpus must be refused for. */
const expected: Record<string, RegExp> = {
  'yaml-syntax.yaml': /:5:4: expected valid YAML[\s\S]*line 5 is indented more than line 4/,
  'yaml-unclosed.yaml': /expected valid YAML/,
  'yaml-duplicate-key.yaml': /:3:\d+: expected valid YAML, found a syntax error \(Map keys must be unique\)/,
  'json-syntax.json': /:3:\d+: expected valid JSON/,
  'json-truncated.json': /expected valid JSON/,
  'empty.yaml': /expected a scheme object .*found null/,
  'only-comment.yaml': /expected a scheme object .*found null/,
  'list.yaml': /expected a scheme object .*found an array/,
  'list.json': /expected a scheme object .*found an array/,
  'scalar.yaml': /expected a scheme object .*found the string/,
  'null.json': /expected a scheme object .*found null/,
  'alias-bomb.yaml': /expected valid YAML, found a document that cannot be expanded/,
  'proto-key.json': /at \/__proto__: expected no property "__proto__"/,
  'wrong-types.yaml': /at \/version: expected 1, found the string "one"[\s\S]*at \/source\/detail: expected a value of type boolean, found the string "maybe"/,
  'unknown-keys.yaml': /at \/sourc: expected no property "sourc"/,
  'unknown-connector.yaml': /connector "okkii": expected a built-in connector .*found not installed[\s\S]*did you mean okki\?.*unknown-connector\.yaml \/source\/connector/,
  'unknown-stream.yaml': /at \/source\/stream: expected a stream of connector okki \(company\), found "companies"/,
  'unknown-operation.yaml': /at \/target\/operation: expected an operation of connector yonbip .*found "merchant.upsert"/,
  'bad-jsonata.yaml': /at \/mapping\/name.zh_CN: expected a valid JSONata expression[\s\S]*at \/mapping\/website: expected a valid JSONata expression/,
  'unknown-target-field.yaml': /at \/mapping\/webiste: expected a field of yonbip merchant.save, found "webiste"[\s\S]*did you mean website/,
  'bad-lookback.yaml': /at \/source\/incremental\/lookback: expected a duration/,
  'bad-id.yaml': /at \/id: expected a value that must match pattern/,
  'missing-env.yaml': /expected the environment variable QIAO_CHAOS_UNSET_SECRET to be set[\s\S]*expected the environment variable QIAO_CHAOS_UNSET_APP_KEY to be set/,
};

const corpus: Case[] = readdirSync(CORPUS)
  .filter((f) => /\.(ya?ml|json)$/.test(f))
  .sort()
  .map((f) => ({ name: f, file: join(CORPUS, f), says: expected[f] ?? /^(?!)/ }));

const generated: Case[] = [
  { name: 'a huge file (1.1 MiB)', file: write('huge.yaml', template + '\n# ' + 'x'.repeat(1_150_000) + '\n'), says: /expected a scheme file of at most 1024 KiB, found 1\d{3} KiB/ },
  { name: 'binary garbage', file: write('garbage.yaml', Buffer.concat([Buffer.from([0x00, 0xff, 0xfe]), randomBytes(4096)])), says: /expected a UTF-8 text file \(YAML or JSON\), found binary data/ },
  { name: 'Latin-1 bytes, not UTF-8', file: write('latin1.yaml', Buffer.from('version: 1\nid: caf\xe9\n', 'latin1')), says: /found binary data/ },
  { name: 'JSON nested 100,000 levels deep', file: write('deep.json', `{"version": 1, "x": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`), says: /expected a scheme nested at most 64 levels deep/ },
  { name: 'YAML nested 100,000 levels deep', file: write('deep.yaml', `version: 1\nx: ${'['.repeat(100_000)}${']'.repeat(100_000)}\n`), says: /expected valid YAML|nested at most 64 levels/ },
  { name: 'a scheme that is a list of schemes', file: write('two-schemes.yaml', `- ${template.split('\n').join('\n  ')}\n`), says: /expected a scheme object .*found an array of 1/ },
  { name: 'tabs for indentation', file: write('tabs.yaml', template.replace(/^ {2}connector: okki$/m, '\tconnector: okki')), says: /expected valid YAML/ },
  { name: 'no such file', file: join(dir, 'does-not-exist.yaml'), says: /expected a readable scheme file, found no such file/ },
  { name: 'a directory', file: dir, says: /expected a readable scheme file, found a directory/ },
  { name: 'a request rate below the limiter floor: OKKI_REQUESTS_PER_SECOND=0.0001', file: TEMPLATE, env: { OKKI_REQUESTS_PER_SECOND: '0.0001' }, says: /at \/source\/limits\/requestsPerSecond: expected a value that must be >= 0.001/ },
  { name: 'a word for a number: YONBIP_CONCURRENCY=lots', file: TEMPLATE, env: { YONBIP_CONCURRENCY: 'lots' }, says: /at \/target\/limits\/concurrency: expected a value of type integer, found the string "lots"/ },
  { name: 'a secret in the wrong variable: OKKI_CONCURRENCY=<the secret>', file: TEMPLATE, env: { OKKI_CONCURRENCY: OKKI_SECRET }, says: /at \/source\/limits\/concurrency: expected a value of type integer, found a value holding a secret \(not shown\)/ },
  { name: 'no variables set at all', file: TEMPLATE, env: Object.fromEntries(Object.keys(ENV).map((k) => [k, ''])), says: /expected the environment variable OKKI_CLIENT_ID to be set[\s\S]*OKKI_CLIENT_SECRET[\s\S]*YONBIP_APP_KEY[\s\S]*YONBIP_APP_SECRET/ },
  ...(existsSync('/dev/zero') ? [{ name: 'a file without end (/dev/zero)', file: '/dev/zero', says: /expected a scheme file of at most 1024 KiB, found more than 1024 KiB/ }] : []),
];

describe('bad input: every broken scheme is refused with exit 2, a message naming the file, no stack trace', () => {
  afterAll(() => removeDir(dir));

  it('the corpus holds what the issue lists', () => {
    const names = corpus.map((c) => c.name);
    for (const f of Object.keys(expected)) expect(names).toContain(f);
    expect(corpus.filter((c) => !(c.name in expected)).map((c) => c.name), 'corpus files without an expectation').toEqual([]);
  });

  it.concurrent.each([...corpus, ...generated].map((c) => [c.name, c] as const))('%s', async (_name, c) => {
    const env = { ...ENV, ...c.env };
    const named = c.names ?? c.file;
    for (const args of [['validate', c.file], ['run', c.file, '--state', state]]) {
      const r = await qiao(args, { env, cwd: dir });
      const shown = `qiao ${args[0]} ${c.name} → exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr.slice(0, 3000)}`;
      expect(r.code, shown).toBe(2);
      expect(r.stdout, shown).toBe('');
      expect(r.stderr, shown).toContain(named);
      expect(r.stderr, shown).toMatch(/^Error: \d+ problems?\n/);
      expect(r.stderr, shown).toMatch(c.says);
      expect(stackLines(r.stderr), shown).toEqual([]);
      expect(r.stderr, shown).not.toMatch(/looks like a bug in qiao/);
      expect(findSecrets([OKKI_SECRET, BIP_SECRET], { texts: { stdout: r.stdout, stderr: r.stderr } }), shown).toEqual([]);
    }
  });

  it('flags and arguments that make no sense exit 2 with a hint, no stack trace', async () => {
    for (const args of [['run'], ['run', TEMPLATE, '--limit', 'many'], ['run', TEMPLATE, '--limit', '0'], ['run', TEMPLATE, '--no-such-flag'], ['validate']]) {
      const r = await qiao(args, { env: ENV, cwd: dir });
      const shown = `qiao ${args.join(' ')} → exit ${r.code}\n${r.stderr}`;
      expect(r.code, shown).toBe(2);
      expect(r.stdout, shown).toBe('');
      expect(r.stderr, shown).toMatch(/Error/);
      expect(stackLines(r.stderr), shown).toEqual([]);
    }
    // nothing was run: no state was written
    expect(existsSync(join(state, 'state.db')) ? 'state.db written' : 'none').toBe('none');
  });
});
