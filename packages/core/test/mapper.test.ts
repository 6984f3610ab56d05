import { describe, expect, it } from 'vitest';
import { DeclarativeMapper, RecordError } from '../src/index.js';

const rec = (data: Record<string, unknown>) => ({ stream: 's', key: 'k1', data });

describe('DeclarativeMapper', () => {
  it('writes dotted target paths as nested objects', async () => {
    const { mapper, problems } = DeclarativeMapper.compile({ 'name.zh_CN': 'name', 'name.en_US': 'en', code: 'id' });
    expect(problems).toEqual([]);
    expect(await mapper.map(rec({ name: '上海桥科技有限公司', en: 'Qiao Tech', id: '42' }))).toEqual({
      name: { zh_CN: '上海桥科技有限公司', en_US: 'Qiao Tech' },
      code: '42',
    });
  });

  it('writes literals as given, also large ids', async () => {
    const { mapper } = DeclarativeMapper.compile({ createOrg: { value: '1481709712348020742' }, merchantOptions: { value: true }, n: 3 });
    expect(await mapper.map(rec({}))).toEqual({ createOrg: '1481709712348020742', merchantOptions: true, n: 3 });
  });

  it('leaves fields out when the expression has no result', async () => {
    const { mapper } = DeclarativeMapper.compile({ website: 'homepage', 'shortname.zh_CN': "short_name != '' ? short_name", code: 'id' });
    expect(await mapper.map(rec({ id: '1', short_name: '' }))).toEqual({ code: '1' });
  });

  it('evaluates full JSONata over nested data', async () => {
    const { mapper, problems } = DeclarativeMapper.compile({
      contactName: '$append(customers[main_customer_flag = 1], customers)[0].name',
      contactTel: "tel[0] != '' ? tel[0] & '-' & tel[1] : tel[1]",
      count: '$count(customers)',
    });
    const out = await mapper.map(
      rec({ customers: [{ name: '李雷', main_customer_flag: 0 }, { name: '韩梅梅', main_customer_flag: 1 }], tel: ['021', '55550000'] }),
    );
    expect(problems).toEqual([]);
    expect(out).toEqual({ contactName: '韩梅梅', contactTel: '021-55550000', count: 2 });
  });

  it('reads a path through arrays the way JSONata does', async () => {
    const { mapper } = DeclarativeMapper.compile({ emails: 'customers.email' });
    expect(await mapper.map(rec({ customers: [{ email: 'a@x.cn' }, { email: 'b@x.cn' }] }))).toEqual({ emails: ['a@x.cn', 'b@x.cn'] });
  });

  it('turns a runtime evaluation error into a RecordError for that record', async () => {
    const { mapper, problems } = DeclarativeMapper.compile({ total: 'amount + 1' });
    expect(problems).toEqual([]);
    const error = await (async () => mapper.map(rec({ amount: 'not a number' })))().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RecordError);
    expect((error as RecordError).reason).toBe('mapping.error');
    expect((error as RecordError).message).toContain('total');
  });

  it('always answers with a promise, literals included (one contract for every mapper)', async () => {
    const { mapper } = DeclarativeMapper.compile({ code: { value: 'X' } });
    const answer = mapper.map(rec({}));
    expect(answer).toBeInstanceOf(Promise);
    expect(await answer).toEqual({ code: 'X' });
  });

  it('runs the whole JSONata language: the record itself, lambdas, higher-order functions', async () => {
    const { mapper, problems } = DeclarativeMapper.compile({
      keys: '$keys($)',
      upper: '$map(tags, function($t) { $uppercase($t) })',
      sorted: '$sort(customers, function($a, $b) { $a.age > $b.age }).name',
    });
    expect(problems).toEqual([]);
    const out = await mapper.map(rec({ tags: ['vip', 'cn'], customers: [{ name: '李雷', age: 40 }, { name: '韩梅梅', age: 30 }] }));
    expect(out).toEqual({ keys: ['tags', 'customers'], upper: ['VIP', 'CN'], sorted: ['韩梅梅', '李雷'] });
  });

  it('reports syntax errors at compile time with the pointer', () => {
    const { problems } = DeclarativeMapper.compile({ 'name.zh_CN': 'name +', ok: 'x' }, 'f.yaml');
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatchObject({ file: 'f.yaml', pointer: '/mapping/name.zh_CN' });
  });
});
