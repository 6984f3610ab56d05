import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { loadScheme, InputError, type Problem } from '../src/index.js';
import { goodScheme, memoryResolver, tempDir, writeTemp } from './helpers.js';

const dir = tempDir();

async function problemsOf(name: string, text: string, env: Record<string, string> = {}): Promise<{ file: string; problems: Problem[]; message: string }> {
  const file = writeTemp(dir, name, text);
  try {
    await loadScheme(file, { resolver: memoryResolver, env });
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    const err = e as InputError;
    return { file, problems: err.problems, message: err.message };
  }
  throw new Error('expected the scheme to be rejected');
}

describe('loadScheme', () => {
  it('loads a valid scheme and applies manifest defaults to params', async () => {
    const file = writeTemp(dir, 'good.yaml', goodScheme);
    const loaded = await loadScheme(file, { resolver: memoryResolver, env: {} });
    expect(loaded.scheme.id).toBe('mem-test');
    expect(loaded.source.params).toEqual({ count: 10, pageSize: 500, poisonEvery: 0, changed: 0 });
    expect(loaded.source.incremental).toBe(true);
    expect(loaded.mapper.targets).toEqual(['code', 'name.zh_CN', 'amount']);
  });

  it('reports a YAML syntax error with file and line, and no stack trace', async () => {
    const { file, problems, message } = await problemsOf('bad.yaml', 'version: 1\nid: x\nsource:\n  connector: memory\n   stream: records\n');
    expect(problems[0]!.file).toBe(file);
    expect(problems[0]!.expected).toBe('valid YAML');
    expect(problems[0]!.line).toBeGreaterThanOrEqual(4);
    expect(message).toContain(file);
    expect(message).not.toMatch(/\n\s+at /);
  });

  it('reports a JSON syntax error with file and line', async () => {
    const { file, problems } = await problemsOf('bad.json', '{\n  "version": 1,\n  "id": "x",,\n}');
    expect(problems[0]).toMatchObject({ file, expected: 'valid JSON', line: 3 });
  });

  it('names an unknown connector and lists the known ones', async () => {
    const { problems } = await problemsOf('unknown.yaml', goodScheme.replace('connector: memory\n  stream', 'connector: memroy\n  stream'));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ pointer: '/source/connector', found: '"memroy"' });
    expect(problems[0]!.expected).toContain('memory');
    expect(problems[0]!.hint).toContain('did you mean memory');
    expect(problems[0]!.line).toBe(4);
  });

  it('names an unknown stream and lists the stream ids', async () => {
    const { problems } = await problemsOf('stream.yaml', goodScheme.replace('stream: records', 'stream: customers'));
    expect(problems[0]).toMatchObject({ pointer: '/source/stream' });
    expect(problems[0]!.expected).toContain('records');
  });

  it('names a missing environment variable and where it is used', async () => {
    const text = goodScheme.replace('count: 10', 'count: "${env:QIAO_TEST_COUNT}"');
    const { problems } = await problemsOf('env.yaml', text);
    expect(problems[0]).toMatchObject({ pointer: '/source/params/count' });
    expect(problems[0]!.expected).toContain('QIAO_TEST_COUNT');
  });

  it('interpolates ${env:NAME} and ${env:NAME:-default}', async () => {
    const text = goodScheme.replace('count: 10', 'count: "${env:QIAO_TEST_COUNT}"').replace('id: mem-test', 'id: ${env:QIAO_TEST_ID:-from-default}');
    const file = writeTemp(dir, 'env-ok.yaml', text);
    const loaded = await loadScheme(file, { resolver: memoryResolver, env: { QIAO_TEST_COUNT: '7' } });
    expect(loaded.source.params.count).toBe(7);
    expect(loaded.scheme.id).toBe('from-default');
    const again = await loadScheme(file, { resolver: memoryResolver, env: { QIAO_TEST_COUNT: '7', QIAO_TEST_ID: 'from-env' } });
    expect(again.scheme.id).toBe('from-env');
  });

  it('reports a bad JSONata expression with its pointer', async () => {
    const { problems } = await problemsOf('jsonata.yaml', goodScheme.replace('amount: amount', 'amount: "amount +* 2"'));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ pointer: '/mapping/amount', expected: 'a valid JSONata expression' });
  });

  it('reports params that violate the manifest, expected vs found', async () => {
    const { problems } = await problemsOf('params.yaml', goodScheme.replace('count: 10', 'count: lots'));
    expect(problems[0]).toMatchObject({ pointer: '/source/params/count', expected: 'a value of type integer', found: 'the string "lots"' });
  });

  it('reports unknown keys with the allowed ones', async () => {
    const { problems } = await problemsOf('keys.yaml', goodScheme + 'shedule: { cron: "* * * * *" }\n');
    expect(problems[0]).toMatchObject({ pointer: '/shedule' });
    expect(problems[0]!.hint).toContain('schedule');
  });

  it('reports every problem at once', async () => {
    const text = goodScheme.replace('count: 10', 'count: lots').replace('amount: amount', 'amount: "(("').replace('stream: records', 'stream: nope');
    const { problems } = await problemsOf('many.yaml', text);
    expect(problems.map((p) => p.pointer).sort()).toEqual(['/mapping/amount', '/source/stream']);
  });

  it('refuses binary garbage and huge files with a clear message', async () => {
    const bin = await problemsOf('garbage.yaml', '\u0000\u0001\u0002binary');
    expect(bin.problems[0]!.found).toBe('binary data');
    const huge = await problemsOf('huge.yaml', goodScheme + '#' + 'x'.repeat(1024 * 1024 + 10));
    expect(huge.problems[0]!.expected).toContain('at most');
  });

  it('refuses a YAML alias bomb and absurd nesting as problems of the file, not as crashes', async () => {
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]'];
    for (const [i, name] of ['b', 'c', 'd', 'e', 'f', 'g'].entries()) bomb.push(`${name}: &${name} [${Array(9).fill(`*${'abcdef'[i]}`).join(', ')}]`);
    const aliases = await problemsOf('bomb.yaml', bomb.join('\n') + '\n');
    expect(aliases.problems[0]).toMatchObject({ file: aliases.file, expected: 'valid YAML' });
    expect(aliases.problems[0]!.found).toMatch(/cannot be expanded/);
    const deepJson = await problemsOf('deep.json', `{"version": 1, "x": ${'['.repeat(100_000)}${']'.repeat(100_000)}}`);
    expect(deepJson.problems[0]!.expected).toMatch(/nested at most 64 levels/);
    const deepYaml = await problemsOf('deep.yaml', goodScheme + 'x:\n' + Array.from({ length: 70 }, (_, i) => `${'  '.repeat(i + 1)}k:`).join('\n') + ' 1\n');
    expect(deepYaml.problems[0]!.expected).toMatch(/nested at most 64 levels/);
  });

  it.skipIf(!existsSync('/dev/zero'))('reads no more than the size limit from a file without end', async () => {
    const { problems } = await loadScheme('/dev/zero', { resolver: memoryResolver, env: {} }).then(
      () => ({ problems: [] as Problem[] }),
      (e: InputError) => e,
    );
    expect(problems[0]).toMatchObject({ file: '/dev/zero', found: 'more than 1024 KiB' });
  });

  it('reads a JSON scheme saved with a byte-order mark', async () => {
    const json = JSON.stringify({
      version: 1,
      id: 'bom',
      source: { connector: 'memory', stream: 'records' },
      target: { connector: 'memory', operation: 'records.save' },
      mapping: { code: 'id', 'name.zh_CN': 'name' },
    });
    const file = writeTemp(dir, 'bom.json', '\uFEFF' + json);
    expect((await loadScheme(file, { resolver: memoryResolver, env: {} })).scheme.id).toBe('bom');
  });

  it('reports a __proto__ key as an unknown key (it does not become the prototype)', async () => {
    const { problems } = await problemsOf('proto.json', '{"__proto__": {"polluted": 1}, "version": 1}');
    expect(problems.map((p) => p.pointer)).toContain('/__proto__');
    expect(problems.map((p) => p.pointer)).not.toContain('/polluted');
  });

  it('refuses a request rate below what the limiter can run, as validate would', async () => {
    const { problems } = await problemsOf('rate.yaml', goodScheme.replace('operation: records.save', 'operation: records.save\n  limits: { requestsPerSecond: 0.0001 }'));
    expect(problems[0]).toMatchObject({ pointer: '/target/limits/requestsPerSecond' });
  });

  it('never repeats a secret in a problem, even when a secret variable is used in the wrong place', async () => {
    const secret = 'mem-Secret/Value=9c1d7e';
    const env = { MEM_TOKEN: secret, SOME_PASSWORD: 'pass Word 12345' };
    const withToken = goodScheme.replace('operation: records.save', 'operation: records.save\n  connection: { token: "${env:MEM_TOKEN}" }');
    // in a field the manifest does not mark secret, and in a mapping expression (JSONata quotes a piece of it)
    const misplaced = await problemsOf('secret-misplaced.yaml', withToken.replace('count: 10', 'count: "${env:MEM_TOKEN}"').replace('amount: amount', 'amount: "${env:MEM_TOKEN} +"'), env);
    expect(misplaced.problems.map((p) => p.pointer).sort()).toEqual(['/mapping/amount', '/source/params/count']);
    // a variable with a secret-looking name, in a field the scheme schema refuses
    const id = await problemsOf('secret-id.yaml', withToken.replace('id: mem-test', 'id: "${env:SOME_PASSWORD}"'), env);
    expect(id.problems.map((p) => p.pointer)).toEqual(['/id']);
    for (const { problems, message } of [misplaced, id]) {
      expect(message).not.toContain(secret);
      expect(message).not.toContain('9c1d7e');
      expect(message).not.toContain('pass Word 12345');
      expect(problems.every((p) => p.found === 'a value holding a secret (not shown)')).toBe(true);
    }
  });

  it('says plainly when the file does not exist', async () => {
    await expect(loadScheme('/nonexistent/scheme.yaml', { resolver: memoryResolver, env: {} })).rejects.toThrow(/no such file/);
  });

  it('warns when a secret field holds a literal value', async () => {
    const file = writeTemp(dir, 'secret.yaml', goodScheme.replace('operation: records.save', 'operation: records.save\n  connection: { token: "literal-secret-value" }'));
    const loaded = await loadScheme(file, { resolver: memoryResolver, env: {} });
    expect(loaded.warnings).toHaveLength(1);
    expect(loaded.warnings[0]!.pointer).toBe('/target/connection/token');
    expect(JSON.stringify(loaded.warnings)).not.toContain('literal-secret-value');
    expect(loaded.secrets).toEqual(['literal-secret-value']);
    const viaEnv = writeTemp(dir, 'secret-env.yaml', goodScheme.replace('operation: records.save', 'operation: records.save\n  connection: { token: "${env:MEM_TOKEN}" }'));
    expect((await loadScheme(viaEnv, { resolver: memoryResolver, env: { MEM_TOKEN: 'x1234' } })).warnings).toEqual([]);
  });
});

describe('resolveEnv', () => {
  it('leaves out a value that is only a placeholder and resolves to empty', async () => {
    const { resolveEnv } = await import('../src/index.js');
    const { value, problems } = resolveEnv({ a: '${env:UNSET_X:-}', b: 'x${env:UNSET_X:-}', c: '${env:SET_Y}' }, { SET_Y: 'y' }, 'f');
    expect(problems).toEqual([]);
    expect(value).toEqual({ b: 'x', c: 'y' });
  });
});
