import { Args, Flags } from '@oclif/core';
import { InputError } from '@qiao/core';
import { connectorKit, type KitResult } from '@qiao/core/testing';
import { QiaoCommand } from '../../lib/base-command.js';
import { color, formatDuration, out, printJson } from '../../lib/output.js';
import { loadConnector } from '../../lib/resolver.js';

export default class ConnectorsTest extends QiaoCommand {
  static override summary = "Run the behavioural test kit on a connector against its own simulator.";
  static override description =
    "Like Airbyte's acceptance tests: the connector's testing.setup starts its simulator, then the kit checks the manifest, the connection check with a good and a bad connection, that every stream yields records that validate with their primary key and cursor, honours limit and abort and yields nothing from a future cursor, and that every operation's write retried as maybe-written writes no second record. Exit 0 when every check passes, 1 when one fails, 2 when the connector cannot be loaded or has no testing.setup.";
  static override examples = ['<%= config.bin %> connectors test okki', '<%= config.bin %> connectors test ./connectors/shop', '<%= config.bin %> connectors test @acme/qiao-connector-shop --json'];
  static override args = { connector: Args.string({ description: 'connector id, installed package name, or path to a connector package folder', required: true }) };
  static override flags = { json: Flags.boolean({ description: 'print the results as JSON' }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ConnectorsTest);
    const found = await loadConnector(args.connector);
    if (!found.plugin.testing) {
      throw new InputError([
        {
          file: found.dir ?? found.package,
          pointer: '',
          expected: `connector ${found.id} to say how the kit reaches a system to test against (testing.setup in defineConnector)`,
          found: 'no testing.setup',
          hint: 'add testing: { setup: async () => ({ connection, streams, operations, close }) } that starts its simulator (see docs/authoring-connectors.md), or run connectorKit(plugin, options) from its own tests',
        },
      ]);
    }
    const print = (r: KitResult) => {
      if (flags.json) return;
      out(`${r.ok ? color.green('✓') : color.red('✗')} ${r.name} ${color.dim(`(${formatDuration(r.ms)})`)}`);
      if (!r.ok && r.error) out(r.error.split('\n').map((l) => `    ${l}`).join('\n'));
    };
    const results = await connectorKit(found.plugin).run(print);
    const failed = results.filter((r) => !r.ok);
    if (flags.json) printJson({ connector: found.id, package: found.package, version: found.version, passed: results.length - failed.length, failed: failed.length, results });
    else out(`\n${failed.length ? color.red(`${failed.length} of ${results.length} checks failed`) : color.green(`all ${results.length} checks passed`)} for ${found.package}@${found.version}`);
    if (failed.length) this.exit(1);
  }
}
