/**
 * Deterministic, seeded customers for the OKKI simulator: unique Chinese company names, contacts,
 * phones, owners and times in the recent past. Companies are kept compact (times as epoch ms,
 * contacts generated on demand from the company's own seed) so 100k of them fit comfortably.
 */
import { seededRandom } from '@qiao/core';

function mix(a: number, b: number): number {
  let h = (Math.imul(a ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(b + 0x27d4eb2f, 0xc2b2ae35)) >>> 0;
  h ^= h >>> 16;
  return Math.imul(h, 0x7feb352d) >>> 0;
}

type Rng = () => number;
const pick = <T>(rng: Rng, list: readonly T[]): T => list[Math.floor(rng() * list.length)] as T;
const int = (rng: Rng, min: number, max: number): number => min + Math.floor(rng() * (max - min + 1));
const digits = (rng: Rng, n: number): string => Array.from({ length: n }, () => Math.floor(rng() * 10)).join('');

const DAY = 86_400_000;

/** City, province, phone area code. */
const CITIES: readonly [string, string, string][] = [
  ['深圳', '广东省', '0755'], ['广州', '广东省', '020'], ['东莞', '广东省', '0769'], ['佛山', '广东省', '0757'],
  ['中山', '广东省', '0760'], ['汕头', '广东省', '0754'], ['杭州', '浙江省', '0571'], ['宁波', '浙江省', '0574'],
  ['温州', '浙江省', '0577'], ['义乌', '浙江省', '0579'], ['绍兴', '浙江省', '0575'], ['台州', '浙江省', '0576'],
  ['苏州', '江苏省', '0512'], ['无锡', '江苏省', '0510'], ['南京', '江苏省', '025'], ['常州', '江苏省', '0519'],
  ['南通', '江苏省', '0513'], ['上海', '上海市', '021'], ['北京', '北京市', '010'], ['天津', '天津市', '022'],
  ['青岛', '山东省', '0532'], ['济南', '山东省', '0531'], ['烟台', '山东省', '0535'], ['厦门', '福建省', '0592'],
  ['泉州', '福建省', '0595'], ['福州', '福建省', '0591'], ['成都', '四川省', '028'], ['重庆', '重庆市', '023'],
  ['武汉', '湖北省', '027'], ['长沙', '湖南省', '0731'], ['郑州', '河南省', '0371'], ['合肥', '安徽省', '0551'],
  ['西安', '陕西省', '029'], ['沈阳', '辽宁省', '024'], ['大连', '辽宁省', '0411'], ['石家庄', '河北省', '0311'],
  ['南昌', '江西省', '0791'], ['昆明', '云南省', '0871'], ['南宁', '广西壮族自治区', '0771'], ['哈尔滨', '黑龙江省', '0451'],
];

/** Brand characters with their pinyin (for homepages and e-mail domains). */
const BRAND: readonly [string, string][] = [
  ['华', 'hua'], ['鑫', 'xin'], ['恒', 'heng'], ['达', 'da'], ['瑞', 'rui'], ['丰', 'feng'], ['盛', 'sheng'], ['泰', 'tai'],
  ['宏', 'hong'], ['远', 'yuan'], ['嘉', 'jia'], ['信', 'xin'], ['德', 'de'], ['隆', 'long'], ['永', 'yong'], ['康', 'kang'],
  ['汇', 'hui'], ['通', 'tong'], ['博', 'bo'], ['创', 'chuang'], ['新', 'xin'], ['源', 'yuan'], ['力', 'li'], ['海', 'hai'],
  ['金', 'jin'], ['正', 'zheng'], ['安', 'an'], ['宇', 'yu'], ['星', 'xing'], ['辰', 'chen'], ['明', 'ming'], ['凯', 'kai'],
  ['润', 'run'], ['诚', 'cheng'], ['和', 'he'], ['晟', 'sheng'], ['旭', 'xu'], ['耀', 'yao'], ['腾', 'teng'], ['飞', 'fei'],
  ['优', 'you'], ['捷', 'jie'], ['卓', 'zhuo'], ['越', 'yue'], ['佳', 'jia'], ['美', 'mei'], ['天', 'tian'], ['景', 'jing'],
  ['科', 'ke'], ['铭', 'ming'], ['立', 'li'], ['峰', 'feng'], ['合', 'he'], ['万', 'wan'], ['利', 'li'], ['昌', 'chang'],
  ['广', 'guang'], ['中', 'zhong'], ['亿', 'yi'], ['东', 'dong'],
];

/** Industry word and a slug for web addresses. */
const INDUSTRIES: readonly [string, string][] = [
  ['电子科技', 'tech'], ['机械设备', 'machinery'], ['纺织品', 'textile'], ['进出口贸易', 'trading'], ['五金制品', 'hardware'],
  ['化工', 'chem'], ['新材料', 'materials'], ['照明科技', 'lighting'], ['家居用品', 'home'], ['汽车配件', 'autoparts'],
  ['医疗器械', 'medical'], ['食品', 'food'], ['服饰', 'apparel'], ['包装材料', 'pack'], ['光电科技', 'opto'],
  ['智能科技', 'smart'], ['塑胶制品', 'plastic'], ['陶瓷', 'ceramics'], ['环保科技', 'eco'], ['建材', 'build'],
  ['电器', 'electric'], ['玩具', 'toys'], ['箱包', 'bags'], ['户外用品', 'outdoor'], ['工艺品', 'crafts'],
  ['精密模具', 'mould'], ['生物科技', 'bio'], ['供应链管理', 'scm'], ['网络科技', 'net'], ['新能源科技', 'energy'],
];

const SUFFIXES: readonly [string, number][] = [
  ['有限公司', 0.6], ['股份有限公司', 0.75], ['有限责任公司', 0.85], ['实业有限公司', 0.95], ['集团有限公司', 1],
];

const DISTRICTS = ['高新区', '经济技术开发区', '工业园区', '新区', '中心区', '保税区'] as const;
const ROADS = ['人民路', '建设路', '解放路', '中山路', '科技路', '创业大道', '工业大道', '滨海大道', '长江路', '黄河路'] as const;

const SURNAMES: readonly [string, string][] = [
  ['王', 'wang'], ['李', 'li'], ['张', 'zhang'], ['刘', 'liu'], ['陈', 'chen'], ['杨', 'yang'], ['黄', 'huang'],
  ['赵', 'zhao'], ['吴', 'wu'], ['周', 'zhou'], ['徐', 'xu'], ['孙', 'sun'], ['马', 'ma'], ['朱', 'zhu'], ['胡', 'hu'],
  ['郭', 'guo'], ['何', 'he'], ['林', 'lin'], ['罗', 'luo'], ['高', 'gao'],
];
const GIVEN: readonly [string, string, 1 | 2][] = [
  ['伟', 'wei', 1], ['芳', 'fang', 2], ['娜', 'na', 2], ['敏', 'min', 2], ['静', 'jing', 2], ['丽', 'li', 2],
  ['强', 'qiang', 1], ['磊', 'lei', 1], ['军', 'jun', 1], ['洋', 'yang', 1], ['勇', 'yong', 1], ['艳', 'yan', 2],
  ['杰', 'jie', 1], ['涛', 'tao', 1], ['明', 'ming', 1], ['超', 'chao', 1], ['秀英', 'xiuying', 2], ['霞', 'xia', 2],
  ['平', 'ping', 1], ['刚', 'gang', 1], ['桂英', 'guiying', 2], ['玉兰', 'yulan', 2], ['建华', 'jianhua', 1],
  ['婷', 'ting', 2], ['宇', 'yu', 1], ['浩', 'hao', 1], ['鹏', 'peng', 1], ['晓燕', 'xiaoyan', 2],
];
const POSTS = ['采购经理', '总经理', '销售总监', '外贸业务员', '采购专员', '财务', '董事长', '技术工程师', ''] as const;
const REMARKS = ['展会认识的客户', '阿里巴巴询盘转化', '老客户介绍', '官网询盘', '需要定期回访', '样品已寄出'] as const;

/** The simulated OKKI users (owners, creators, editors). */
export const OKKI_USERS: readonly { user_id: number; nickname: string }[] = [
  { user_id: 55280038, nickname: 'qiao' },
  { user_id: 55280040, nickname: '王芳' },
  { user_id: 55280041, nickname: '李娜' },
  { user_id: 55280043, nickname: '张伟' },
  { user_id: 55280046, nickname: '刘洋' },
  { user_id: 55280047, nickname: '陈静' },
  { user_id: 55280052, nickname: '杨帆' },
  { user_id: 55280060, nickname: '赵磊' },
];

/** Customer groups (`group_id`; 0 is 未分组). */
export const OKKI_GROUPS: readonly { id: number; name: string }[] = [
  { id: 0, name: '未分组' },
  { id: 3715627, name: '重点客户' },
  { id: 3715628, name: '普通客户' },
  { id: 3715629, name: '展会客户' },
  { id: 3715630, name: '阿里巴巴询盘' },
];

/** Customer stages (`trail_status`). */
export const OKKI_TRAIL_STATUSES: readonly { id: string; name: string; color: string }[] = [
  { id: '0', name: '无', color: '#cccccc' },
  { id: '7061841', name: '新询盘', color: '#5b8ff9' },
  { id: '7061842', name: '跟进中', color: '#61ddaa' },
  { id: '7061843', name: '已报价', color: '#f6bd16' },
  { id: '7061844', name: '样品阶段', color: '#7262fd' },
  { id: '7061845', name: '已成交', color: '#78d3f8' },
  { id: '7061846', name: '流失', color: '#f08bb4' },
];

/** A contact (联系人) as the simulator keeps it. */
export interface StoredContact {
  customer_id: number;
  name: string;
  email: string;
  tel_list: [string, string][];
  post: string;
  gender: number;
  main_customer_flag: number;
  contact: { type: string; value: string }[];
  remark: string;
}

/** A company as the simulator keeps it: API field names, times as epoch ms (0 = never). */
export interface StoredCompany {
  /** Position in generation order; drives per-company quirks and contact ids. */
  seq: number;
  company_id: number;
  serial_id: string;
  name: string;
  short_name: string;
  /** Owners; empty = public pool (公海). */
  user_id: number[];
  pool_id: number;
  group_id: number;
  create_user: number;
  last_edit_user: number;
  archive_type: number;
  create_time: number;
  archive_time: number;
  update_time: number;
  edit_time: number;
  order_time: number;
  next_follow_up_time: number;
  homepage: string;
  tel: [string, string];
  fax: string;
  address: string;
  country: string;
  province: string;
  city: string;
  remark: string;
  trail_status: number;
  star: number;
  scale_id: number;
  intention_level: number;
  /** Explicit contacts once set or changed; until then generated from the company's seed. */
  customers?: StoredContact[];
  /** Set when the company was deleted (removed=1 lists it). */
  removed_time?: number;
}

const FIRST_COMPANY_ID = 56657420945678;
const FIRST_CUSTOMER_ID = 36657420000000;

/** Generates companies one at a time; names (and present serial ids) are unique across a generator. */
export class CompanyGenerator {
  private readonly rng: Rng;
  private readonly names = new Set<string>();
  private seq = 0;
  private lastId = FIRST_COMPANY_ID;

  constructor(
    private readonly seed: number,
    private readonly now: () => number,
  ) {
    this.rng = seededRandom(mix(seed, 0x0c0ffee));
  }

  /** Marks a name as taken (companies added with an explicit name). */
  reserveName(name: string): void {
    this.names.add(name);
  }

  next(): StoredCompany {
    const rng = this.rng;
    const seq = this.seq++;
    this.lastId += int(rng, 1, 97);
    const [city, province, area] = pick(rng, CITIES);
    const i = Math.floor(rng() * BRAND.length);
    let j = Math.floor(rng() * (BRAND.length - 1));
    if (j >= i) j++;
    const [b1, p1] = BRAND[i] as [string, string];
    const [b2, p2] = BRAND[j] as [string, string];
    const [industry, slug] = pick(rng, INDUSTRIES);
    const s = rng();
    const suffix = (SUFFIXES.find(([, upTo]) => s < upTo) ?? SUFFIXES[0]!)[0];
    let name = `${city}${rng() < 0.5 ? '市' : ''}${b1}${b2}${industry}${suffix}`;
    if (this.names.has(name)) {
      // Rare: the same brand twice in a city. A branch office keeps the name unique.
      let k = 2;
      while (this.names.has(`${name}第${k}分公司`)) k++;
      name = `${name}第${k}分公司`;
    }
    this.names.add(name);

    const now = this.now();
    const update = now - Math.floor(rng() * 90 * DAY);
    const create = update - Math.floor(rng() * 3 * 365 * DAY);
    const owners = rng() < 0.15 ? [] : rng() < 0.85 ? [pick(rng, OKKI_USERS).user_id] : [OKKI_USERS[0]!.user_id, pick(rng, OKKI_USERS.slice(1)).user_id];
    const creator = pick(rng, OKKI_USERS).user_id;
    const telKind = rng();
    const homepageKind = rng();
    const domain = `${p1}${p2}${slug}`;
    const municipality = province === `${city}市`;
    return {
      seq,
      company_id: this.lastId,
      serial_id: rng() < 0.1 ? '' : `KH${new Date(create).getUTCFullYear()}${String(seq + 1).padStart(6, '0')}`,
      name,
      short_name: rng() < 0.3 ? '' : `${b1}${b2}${industry.slice(0, 2)}`,
      user_id: owners,
      pool_id: owners.length === 0 ? pick(rng, [0, 0, 1]) : 0,
      group_id: pick(rng, [0, 0, 3715627, 3715628, 3715628, 3715629, 3715630]),
      create_user: creator,
      last_edit_user: rng() < 0.6 ? creator : pick(rng, OKKI_USERS).user_id,
      archive_type: pick(rng, [1, 1, 1, 2, 4, 6, 7]),
      create_time: create,
      archive_time: rng() < 0.8 ? create : Math.min(update, create + int(rng, 1, 10) * DAY),
      update_time: update,
      edit_time: Math.max(create, update - Math.floor(rng() * DAY)),
      order_time: rng() < 0.2 ? 0 : create + Math.floor(rng() * (now - create)),
      next_follow_up_time: rng() < 0.85 ? 0 : now + int(rng, 1, 30) * DAY,
      homepage: homepageKind < 0.35 ? '' : homepageKind < 0.45 ? `www.${domain}.com` : `https://www.${domain}.${pick(rng, ['com', 'com', 'cn', 'com.cn'])}`,
      tel: telKind < 0.6 ? [area, digits(rng, area.length === 3 ? 8 : 7 + int(rng, 0, 1))] : telKind < 0.8 ? ['', `1${pick(rng, ['3', '5', '8', '9'])}${digits(rng, 9)}`] : ['', ''],
      fax: rng() < 0.7 ? '' : `${area}-${digits(rng, 8)}`,
      address:
        rng() < 0.1
          ? ''
          : `${municipality ? '' : province}${city}市${pick(rng, DISTRICTS)}${pick(rng, ROADS)}${int(rng, 1, 999)}号`,
      country: rng() < 0.85 ? 'CN' : '',
      province: municipality ? '' : province,
      city: `${city}市`,
      remark: rng() < 0.7 ? '' : pick(rng, REMARKS),
      trail_status: Math.floor(rng() * OKKI_TRAIL_STATUSES.length),
      star: int(rng, 0, 5),
      scale_id: int(rng, 0, 6),
      intention_level: int(rng, 0, 3),
    };
  }

  /** The company's contacts: its explicit ones, or the ones its seed generates. */
  contacts(company: StoredCompany): StoredContact[] {
    if (company.customers) return company.customers;
    const rng = seededRandom(mix(this.seed, company.seq + 1));
    const r = rng();
    const n = r < 0.05 ? 0 : r < 0.6 ? 1 : r < 0.9 ? 2 : 3;
    const noMain = rng() < 0.15;
    const domain = company.homepage.replace(/^https?:\/\//, '').replace(/^www\./, '');
    const out: StoredContact[] = [];
    for (let k = 0; k < n; k++) {
      const [sn, sp] = pick(rng, SURNAMES);
      const [gn, gp, gender] = pick(rng, GIVEN);
      const emailKind = rng();
      const telKind = rng();
      const chat = rng();
      out.push({
        customer_id: FIRST_CUSTOMER_ID + company.seq * 8 + k,
        name: `${sn}${gn}`,
        email:
          emailKind < 0.15
            ? ''
            : domain && emailKind < 0.7
              ? `${gp}.${sp}@${domain}`
              : `${sp}${gp}${int(rng, 1, 999)}@${pick(rng, ['163.com', 'qq.com', '126.com', 'foxmail.com'])}`,
        tel_list: telKind < 0.5 ? [['+86', `1${pick(rng, ['3', '5', '8'])}${digits(rng, 9)}`]] : telKind < 0.7 ? [['', `1${pick(rng, ['3', '8'])}${digits(rng, 9)}`], ...(company.tel[1] ? [[company.tel[0], company.tel[1]] as [string, string]] : [])] : [],
        post: pick(rng, POSTS),
        gender: rng() < 0.1 ? 0 : gender,
        main_customer_flag: !noMain && k === 0 ? 1 : 0,
        contact: chat < 0.3 ? [{ type: 'wechat', value: `wxid_${sp}${digits(rng, 6)}` }] : chat < 0.4 ? [{ type: 'whatsapp', value: `+86 1${digits(rng, 10)}` }] : [],
        remark: '',
      });
    }
    return out;
  }

  /** Next free contact id for contacts added later. */
  nextCustomerId(company: StoredCompany, index: number): number {
    return FIRST_CUSTOMER_ID + company.seq * 8 + index;
  }
}
