import { describe, expect, it } from 'vitest';
import { compileNormalizer, formatTime, offsetOf, parseTime } from '../src/index.js';
import { normalizeCompany } from '@qiao/connector-okki';
import { loadRestManifest } from '../src/index.js';
import { fileURLToPath } from 'node:url';

const OKKI = loadRestManifest(fileURLToPath(new URL('../examples/okki.company.rest.yaml', import.meta.url)));

describe('field normalisation', () => {
  it('gives what the coded OKKI normaliser gives, for an OKKI company with every quirk', () => {
    const raw = () => ({
      company_id: 3601,
      user_id: '55280040,55280041,0',
      create_user: 55280040,
      last_edit_user: '55280038 ',
      archive_type: '2',
      star: '',
      order_time: '1970-01-01 00:00:00',
      next_follow_up_time: '',
      edit_time: ' 0000-00-00 ',
      tel: { '0': '0532', '1': '88886666' },
      owner: [{ user_id: 55280040, nickname: '王芳' }],
      customers: [{ customer_id: 99, company_id: '3601', main_customer_flag: '1', gender: '2', tel_list: [['+86', 13800000000], '13900000000'], birth: '' }],
      name: '青岛瑞海',
    });
    const declared = compileNormalizer(OKKI.streams[0]!.normalize)(raw());
    expect(declared).toEqual(normalizeCompany(raw()));
    expect(declared).toMatchObject({ company_id: '3601', user_id: ['55280040', '55280041'], order_time: null, tel: ['0532', '88886666'], star: null });
  });

  it('formats and parses cursors in a fixed offset, whatever the machine zone', () => {
    const f = { format: 'YYYY-MM-DD HH:mm:ss', offsetMs: offsetOf('+08:00') };
    expect(formatTime(Date.UTC(2026, 0, 21, 8, 2, 22), f)).toBe('2026-01-21 16:02:22');
    expect(parseTime('2026-01-21 16:02:22', f)).toBe(Date.UTC(2026, 0, 21, 8, 2, 22));
    expect(parseTime('2026-02-31 00:00:00', f)).toBeUndefined();
    expect(parseTime('2026-01-21', f)).toBe(Date.UTC(2026, 0, 20, 16, 0, 0));
    expect(formatTime(1_700_000_000_123, { format: 'epoch_s', offsetMs: 0 })).toBe('1700000000');
  });
});
