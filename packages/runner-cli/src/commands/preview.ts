import { Args, Flags } from '@oclif/core';
import { previewScheme, resolveStateDir, SqliteStateStore, wireScheme, type PreviewRow } from '@qiao/core';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { QiaoCommand } from '../lib/base-command.js';
import { loadSchemeForCli } from '../lib/load.js';
import { color, out, printJson, table } from '../lib/output.js';

export default class Preview extends QiaoCommand {
  static override summary = 'Read and map a few records without writing anything: source fields → payload, side by side.';
  static override description = "Flags every record whose payload fails the target operation's schema, and says which records are unchanged since they were last delivered.";
  static override examples = ['<%= config.bin %> preview okki-to-yonbip.scheme.yaml', '<%= config.bin %> preview okki-to-yonbip.scheme.yaml --limit 20 --json'];
  static override args = { scheme: Args.string({ description: 'scheme file (YAML or JSON)', required: true }) };
  static override flags = {
    limit: Flags.integer({ description: 'records to read', default: 5, min: 1 }),
    state: Flags.string({ description: 'state directory, to mark unchanged records (default: $QIAO_STATE_DIR, else .qiao/)' }),
    json: Flags.boolean({ description: 'print the records as JSON' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Preview);
    const loaded = await loadSchemeForCli(args.scheme, { quiet: flags.json });
    const dir = resolveStateDir(flags.state);
    // Read the state only if it exists: a preview never creates or changes it.
    const store = existsSync(join(dir, 'state.db')) ? new SqliteStateStore(dir) : undefined;
    try {
      // the run's own read and map stages: what it shows is what a run would do
      const rows = await previewScheme(loaded, wireScheme(loaded), { limit: flags.limit, store });
      if (flags.json) return printJson(rows);
      const mapping = loaded.scheme.mapping;
      for (const row of rows) out(renderRow(row, mapping) + '\n');
      const invalid = rows.filter((r) => r.action === 'invalid').length;
      out(`${rows.length} records read, ${rows.filter((r) => r.action === 'write').length} would be written, ${rows.filter((r) => r.action === 'unchanged').length} unchanged, ${invalid} invalid; nothing was written.`);
    } finally {
      await store?.close();
    }
  }
}

function flatten(value: unknown, prefix = '', out: [string, string][] = []): [string, string][] {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else {
    const text = typeof value === 'string' ? value : JSON.stringify(value);
    out.push([prefix, text.length > 60 ? text.slice(0, 57) + '...' : text]);
  }
  return out;
}

function renderRow(row: PreviewRow, mapping: Record<string, unknown>): string {
  // an invalid record shows the dead-letter reason a run would give it (payload.invalid, mapping.error…)
  const mark = row.action === 'write' ? color.green('write') : row.action === 'invalid' ? color.red(`INVALID (${row.reason ?? 'invalid'})`) : color.dim(row.action);
  const lines = [`${color.bold(`record ${row.key}`)} → ${mark}`];
  const payload = row.payload ? flatten(row.payload) : [];
  const rows = payload.map(([field, value]) => {
    const m = mapping[field];
    const expr = typeof m === 'string' ? m : m !== undefined ? JSON.stringify((m as { value?: unknown }).value ?? m) : '';
    return [field, value, expr.length > 50 ? expr.slice(0, 47) + '...' : expr];
  });
  if (rows.length) lines.push(table(['target field', 'value', '← from source'], rows));
  const source = flatten(row.source).filter(([, v]) => v !== '""' && v !== '' && v !== 'null' && v !== '[]');
  lines.push(color.dim(`source: ${source.slice(0, 14).map(([k, v]) => `${k}=${v}`).join(' · ')}${source.length > 14 ? ' …' : ''}`));
  for (const p of row.problems) lines.push(`  ${color.red('✗')} ${p}`);
  return lines.join('\n');
}
