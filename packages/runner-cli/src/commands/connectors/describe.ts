import { Args, Flags } from '@oclif/core';
import type { JsonSchema } from '@qiao/core';
import { QiaoCommand } from '../../lib/base-command.js';
import { out, printJson, table } from '../../lib/output.js';
import { loadConnector } from '../../lib/resolver.js';

export default class ConnectorsDescribe extends QiaoCommand {
  static override summary = "Show a connector's connection settings, streams and operations, field by field.";
  static override description = 'Renders the manifest like an integration platform\'s API page: field | label | type | default.';
  static override examples = [
    '<%= config.bin %> connectors describe okki',
    '<%= config.bin %> connectors describe yonbip --json',
    '<%= config.bin %> connectors describe @acme/qiao-connector-shop',
    '<%= config.bin %> connectors describe ./connectors/shop',
  ];
  static override args = { id: Args.string({ description: 'connector id, installed package name, or path to a connector package folder', required: true }) };
  static override flags = { json: Flags.boolean({ description: 'print the manifest as JSON' }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ConnectorsDescribe);
    const found = await loadConnector(args.id);
    const plugin = found.plugin;
    const m = plugin.manifest;
    if (flags.json) return printJson(m);
    out(`${m.name} (${m.id} ${m.version})${m.description ? `\n${m.description}` : ''}`);
    out(`Package: ${found.package}@${found.version} (${found.foundIn}${found.dir ? `: ${found.dir}` : ''})`);
    out(`\nConnection 连接配置\n${fields(m.connection)}`);
    const l = m.limits;
    out(`\nDefault limits: ${l.requestsPerSecond ? `${l.requestsPerSecond} requests/s` : l.requestsPerMinute ? `${l.requestsPerMinute} requests/min` : 'no rate limit'}, concurrency ${l.concurrency ?? 4}`);
    for (const s of m.streams) {
      out(`\nStream ${s.id} — ${s.label}\n  ${[s.api ? `${s.method ?? 'GET'} ${s.api}` : '', `primary key: ${s.primaryKey}`].filter(Boolean).join('   ')}${s.cursor ? `   cursor: ${s.cursor.field} (${s.cursor.format}${s.cursor.timezone ? ` ${s.cursor.timezone}` : ''})` : ''}`);
      if (s.detail) out(`  detail: ${s.detail.api} by ${s.detail.key}${s.detail.label ? ` (${s.detail.label})` : ''}`);
      if (s.deletions) out(`  supports deletions: ${s.deletions.label} (for target.onDelete)`);
      out(`\n  请求参数 Params\n${indent(fields(s.params))}`);
      out(`\n  响应参数 Record\n${indent(fields(s.record))}`);
    }
    for (const o of m.operations) {
      const how = [o.api ? `${o.method ?? 'POST'} ${o.api}` : '', o.upsert ? `upsert by ${o.upsert.key}${o.upsert.lookup ? ` (lookup ${o.upsert.lookup})` : ''}` : ''].filter(Boolean);
      out(`\nOperation ${o.id} — ${o.label}${how.length ? `\n  ${how.join('   ')}` : ''}`);
      if (o.remove) out(`  can stop what it wrote${o.remove.api ? `: ${o.remove.api}` : ''}${o.remove.restore ? `, start again: ${o.remove.restore}` : ''} (${o.remove.label}; target.onDelete: stop)`);
      out(`\n  请求参数 Input\n${indent(fields(o.input))}`);
    }
  }
}

function indent(s: string): string {
  return s
    .split('\n')
    .map((l) => '  ' + l)
    .join('\n');
}

function typeOf(s: JsonSchema): string {
  if (Array.isArray(s.type)) return s.type.join('|');
  if (s.type) return s.type === 'array' && s.items?.type ? `${String(s.items.type)}[]` : s.type;
  if (s.enum) return 'enum';
  if (s.anyOf || s.oneOf) return ((s.anyOf ?? s.oneOf) as JsonSchema[]).map(typeOf).join('|');
  return 'any';
}

/** field | label | type | default rows, nested objects one level down as `parent.child`. */
function fields(schema: JsonSchema): string {
  const rows: string[][] = [];
  const required = new Set(schema.required ?? []);
  const walk = (props: Record<string, JsonSchema>, prefix: string, req: Set<string>) => {
    for (const [k, s] of Object.entries(props)) {
      const name = prefix + k + (req.has(k) ? ' *' : '');
      const flags = [s['x-secret'] ? 'secret' : '', s.enum ? `one of ${s.enum.map((v) => JSON.stringify(v)).join(' ')}` : ''].filter(Boolean).join(', ');
      const def = s.default !== undefined ? JSON.stringify(s.default) : s.examples?.length ? `e.g. ${JSON.stringify(s.examples[0])}` : '';
      rows.push([name, s.title ?? '', typeOf(s) + (flags ? ` (${flags})` : ''), def]);
      if (s.properties && !prefix) walk(s.properties, `${k}.`, new Set(s.required ?? []));
      if (s.type === 'array' && s.items?.properties && !prefix) walk(s.items.properties, `${k}[].`, new Set(s.items.required ?? []));
    }
  };
  walk(schema.properties ?? {}, '', required);
  if (rows.length === 0) return '  (none)';
  return table(['字段 field', '字段名称 label', '类型 type', '配置值 default'], rows);
}
