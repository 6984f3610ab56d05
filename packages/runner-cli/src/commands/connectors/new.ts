import { Args, Flags } from '@oclif/core';
import { InputError } from '@qiao/core';
import { scaffoldRestConnector } from '@qiao/connector-rest';
import { QiaoCommand } from '../../lib/base-command.js';
import { err, printJson } from '../../lib/output.js';

export default class ConnectorsNew extends QiaoCommand {
  static override summary = 'Scaffold a new connector: with --rest, a manifest-only one (a REST manifest, its schema, an example scheme, a README).';
  static override examples = ['<%= config.bin %> connectors new my-crm --rest', '<%= config.bin %> connectors new my-crm --rest --dir ./integrations --json'];
  static override args = { id: Args.string({ description: 'the new connector id (lower-case letters, digits, -)', required: true }) };
  static override flags = {
    rest: Flags.boolean({ description: 'a manifest-only REST connector (no code)' }),
    dir: Flags.string({ description: 'the folder the connector folder is made in', default: './connectors' }),
    force: Flags.boolean({ description: 'overwrite files that exist' }),
    json: Flags.boolean({ description: 'print the files written as JSON' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ConnectorsNew);
    if (!flags.rest) {
      throw new InputError([{ file: 'flag --rest', pointer: '', expected: '--rest (a manifest-only connector is the kind this version scaffolds)', found: 'nothing', hint: `qiao connectors new ${args.id} --rest` }]);
    }
    const r = scaffoldRestConnector({ id: args.id, parent: flags.dir, force: flags.force });
    if (flags.json) return printJson(r);
    err(`wrote ${r.dir}:\n${r.files.map((f) => `  ${f}`).join('\n')}`);
    err(`\nNext: edit ${args.id}.rest.yaml for your API, then qiao validate ${r.dir}/${args.id}-to-file.scheme.yaml`);
  }
}
