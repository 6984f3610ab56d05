import { describe, expect, it } from 'vitest';
import { seededRandom } from '@qiao/core';
import { normalizeCompany, toIdList, toTelPair } from '@qiao/connector-okki';

describe('normalizeCompany', () => {
  // The official list/info examples, trimmed: ids as numbers here, strings there; 1970 "never" dates.
  const raw = {
    company_id: 56657420945678,
    user_id: [],
    create_user: 55280040,
    last_edit_user: '55280038',
    group_id: 0,
    pool_id: '0',
    archive_type: '1',
    star: '',
    order_time: '2025-11-07 16:03:38',
    next_follow_up_time: '1970-01-01 00:00:00',
    next_move_to_public_date: '1970-01-01',
    deal_time: '',
    tel: ['', '13800138000'],
    trail_status: { status_id: 7061841, status_name: '新询盘' },
    owner: [{ user_id: 55280038, nickname: 'qiao' }],
    customers: [
      { customer_id: 56657420942501, company_id: '56657420945678', tel_list: [['+86', 13912345678], ['', '']], main_customer_flag: '1', birth: '' },
    ],
    company: [{ group_id: 1, name: '基本信息', fields: [{ id: 'x', value: '1970-01-01 00:00:00' }] }],
  };
  const n = normalizeCompany(raw);

  it('turns every id into a string', () => {
    expect(n.company_id).toBe('56657420945678');
    expect(n.create_user).toBe('55280040');
    expect(n.last_edit_user).toBe('55280038');
    expect(n.group_id).toBe('0');
    expect(n.pool_id).toBe('0');
    expect(n.trail_status).toEqual({ status_id: '7061841', status_name: '新询盘' });
    expect(n.owner).toEqual([{ user_id: '55280038', nickname: 'qiao' }]);
    const [c] = n.customers as Record<string, unknown>[];
    expect(c?.customer_id).toBe('56657420942501');
    expect(c?.company_id).toBe('56657420945678');
  });

  it('makes numeric codes numbers and unset ones null', () => {
    expect(n.archive_type).toBe(1);
    expect(n.star).toBeNull();
    expect((n.customers as Record<string, unknown>[])[0]?.main_customer_flag).toBe(1);
  });

  it('turns 1970 sentinels and empty dates into null, keeping real dates', () => {
    expect(n.next_follow_up_time).toBeNull();
    expect(n.next_move_to_public_date).toBeNull();
    expect(n.deal_time).toBeNull();
    expect(n.order_time).toBe('2025-11-07 16:03:38');
    expect((n.customers as Record<string, unknown>[])[0]?.birth).toBeNull();
    const group = (n.company as { fields: { value: unknown }[] }[])[0];
    expect(group?.fields[0]?.value).toBeNull();
  });

  it('keeps phones as [area, number] string pairs', () => {
    expect(n.tel).toEqual(['', '13800138000']);
    expect((n.customers as Record<string, unknown>[])[0]?.tel_list).toEqual([
      ['+86', '13912345678'],
      ['', ''],
    ]);
    expect(toTelPair({ 0: '0755', 1: 26881234 })).toEqual(['0755', '26881234']);
    expect(toTelPair({ tel_area_code: '021', tel: '6888' })).toEqual(['021', '6888']);
  });

  it('reads owners (user_id) as a list of strings from any of OKKI\'s forms', () => {
    expect(n.user_id).toEqual([]);
    expect(toIdList('55280038')).toEqual(['55280038']);
    expect(toIdList(55280038)).toEqual(['55280038']);
    expect(toIdList('55280038,55280041')).toEqual(['55280038', '55280041']);
    expect(toIdList([55280038, '55280041'])).toEqual(['55280038', '55280041']);
    expect(toIdList('')).toEqual([]);
  });

  it('does not modify its input', () => {
    expect(raw.company_id).toBe(56657420945678);
    expect(raw.next_follow_up_time).toBe('1970-01-01 00:00:00');
  });
});

describe('"never" dates, wherever they stand', () => {
  it('turns exactly what NEVER.test(value.trim()) matches into null, and leaves every other string alone', () => {
    const NEVER = /^(1970-01-01|0000-00-00)( 00:00:00)?$/;
    const random = seededRandom(5);
    const pick = <T>(xs: T[]): T => xs[Math.floor(random() * xs.length)]!;
    const parts = ['1970-01-01', '0000-00-00', ' 00:00:00', '1970-01-02', '18223286343', '2024-05-01 08:30:00', ' ', '\t', '\u3000', '\ufeff', 'x', '0', '1'];
    let nulls = 0;
    for (let i = 0; i < 5000; i++) {
      let s = '';
      const n = 1 + Math.floor(random() * 3);
      for (let k = 0; k < n; k++) s += pick(parts);
      const out = normalizeCompany({ remark: s, nested: [{ text: s }] });
      const expected = NEVER.test(s.trim()) ? null : s;
      expect(out.remark, JSON.stringify(s)).toBe(expected);
      expect((out.nested as { text: unknown }[])[0]!.text).toBe(expected);
      if (expected === null) nulls++;
    }
    expect(nulls).toBeGreaterThan(100);
  });
});
