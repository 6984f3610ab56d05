import { Args, Flags } from '@oclif/core';
import { QiaoCommand } from '../lib/base-command.js';
import { loadSchemeForCli } from '../lib/load.js';
import { color, err, printJson } from '../lib/output.js';

export default class Validate extends QiaoCommand {
  static override summary = 'Check a scheme file without sending any request.';
  static override description =
    'Checks syntax, ${env:…} variables, the scheme schema, connectors, streams and operations, connection and params against the manifests, and the mapping expressions. Warns when a secret field holds a literal value (the file would not be safe to share). Exit 0 valid, 2 invalid.';
  static override examples = ['<%= config.bin %> validate okki-to-yonbip.scheme.yaml', '<%= config.bin %> validate scheme.yaml --json'];
  static override args = { scheme: Args.string({ description: 'scheme file (YAML or JSON)', required: true }) };
  static override flags = { json: Flags.boolean({ description: 'print the result as JSON' }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Validate);
    const loaded = await loadSchemeForCli(args.scheme, { quiet: flags.json });
    const s = loaded.scheme;
    if (flags.json) {
      printJson({
        file: args.scheme,
        valid: true,
        scheme: s.id,
        source: { connector: s.source.connector, stream: s.source.stream, detail: loaded.source.detail, incremental: loaded.source.incremental },
        target: { connector: s.target.connector, operation: s.target.operation },
        mapping: loaded.mapper.targets,
        warnings: loaded.warnings,
      });
      return;
    }
    err(
      `${color.green('✓')} ${args.scheme} is valid: ${s.source.connector}/${s.source.stream} → ${s.target.connector}/${s.target.operation}, ` +
        `${loaded.mapper.targets.length} mapped fields${loaded.warnings.length ? `, ${loaded.warnings.length} warning(s)` : ''}`,
    );
  }
}
