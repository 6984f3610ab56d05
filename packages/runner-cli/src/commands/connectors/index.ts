import { Flags } from '@oclif/core';
import { formatProblem } from '@qiao/core';
import { QiaoCommand } from '../../lib/base-command.js';
import { color, err, out, printJson, table } from '../../lib/output.js';
import { listConnectors } from '../../lib/resolver.js';

export default class Connectors extends QiaoCommand {
  static override summary = 'List the connectors qiao can use: built-in ones and installed plugins.';
  static override description =
    'Plugins are packages whose package.json says "qiao": { "connector": "<id>" }, found in node_modules (any name or scope) and in connectors/ folders, from the working directory up, and beside qiao. A plugin that fails to load is listed with the reason.';
  static override examples = ['<%= config.bin %> connectors', '<%= config.bin %> connectors --json', '<%= config.bin %> connectors --all'];
  static override flags = {
    json: Flags.boolean({ description: 'print as JSON' }),
    all: Flags.boolean({ description: 'also list the internal test connector (memory)' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Connectors);
    const listed = await listConnectors({ all: flags.all });
    const list = listed.map((c) =>
      'error' in c
        ? { id: c.id, package: c.package, version: c.version, builtin: false, foundIn: c.foundIn, dir: c.dir, error: { failure: c.error.failure, problems: c.error.problems } }
        : {
            id: c.id,
            name: c.plugin.manifest.name,
            package: c.package,
            version: c.version,
            builtin: c.builtin,
            ...(c.hidden ? { hidden: true } : {}),
            foundIn: c.foundIn,
            ...(c.dir ? { dir: c.dir } : {}),
            streams: c.plugin.manifest.streams.map((s) => ({ id: s.id, label: s.label })),
            operations: c.plugin.manifest.operations.map((o) => ({ id: o.id, label: o.label })),
          },
    );
    if (flags.json) return printJson(list);
    const ok = list.filter((c) => !('error' in c && c.error));
    out(
      table(
        ['id', 'name', 'streams (read)', 'operations (write)', 'package', 'found in'],
        ok.map((c) => [
          c.id,
          'name' in c ? (c.name ?? '') : '',
          ('streams' in c ? c.streams : []).map((s) => `${s.id} ${s.label}`).join(', ') || '-',
          ('operations' in c ? c.operations : []).map((o) => `${o.id} ${o.label}`).join(', ') || '-',
          `${c.package}@${c.version}`,
          c.foundIn,
        ]),
      ),
    );
    for (const c of listed) {
      if (!('error' in c)) continue;
      err(`${color.yellow('Warning:')} connector ${c.id} (${c.package}, ${c.foundIn}) does not load:`);
      for (const p of c.error.problems) err(`  ${formatProblem(p)}`);
    }
    out('\nDetails: qiao connectors describe <id>   New plugin: qiao connectors new <id>');
  }
}
