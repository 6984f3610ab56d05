import { Flags } from '@oclif/core';
import { QiaoCommand } from '../../lib/base-command.js';
import { out, printJson, table } from '../../lib/output.js';
import { allConnectors, packageName } from '../../lib/resolver.js';

export default class Connectors extends QiaoCommand {
  static override summary = 'List the connectors qiao can use.';
  static override examples = ['<%= config.bin %> connectors', '<%= config.bin %> connectors --json'];
  static override flags = { json: Flags.boolean({ description: 'print as JSON' }) };

  async run(): Promise<void> {
    const { flags } = await this.parse(Connectors);
    const plugins = await allConnectors();
    const list = plugins.map(({ manifest: m }) => ({
      id: m.id,
      name: m.name,
      version: m.version,
      package: packageName(m.id),
      streams: m.streams.map((s) => ({ id: s.id, label: s.label })),
      operations: m.operations.map((o) => ({ id: o.id, label: o.label })),
    }));
    if (flags.json) return printJson(list);
    out(
      table(
        ['id', 'name', 'streams (read)', 'operations (write)', 'package'],
        list.map((c) => [
          c.id,
          c.name,
          c.streams.map((s) => `${s.id} ${s.label}`).join(', ') || '-',
          c.operations.map((o) => `${o.id} ${o.label}`).join(', ') || '-',
          c.package,
        ]),
      ),
    );
    out('\nDetails: qiao connectors describe <id>');
  }
}
