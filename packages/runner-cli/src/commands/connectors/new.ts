import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { Args, Flags } from '@oclif/core';
import { InputError, isPackageName, sdkIdentity } from '@qiao/core';
import { scaffoldRestConnector } from '@qiao/connector-rest';
import { QiaoCommand } from '../../lib/base-command.js';
import { err, out, printJson } from '../../lib/output.js';
import { scaffoldFiles } from '../../lib/scaffold.js';

export default class ConnectorsNew extends QiaoCommand {
  static override summary = 'Write a new connector package: manifest, a stream and/or an operation, a simulator, tests and an example scheme.';
  static override description =
    'The package is plain ES modules written with defineConnector; its tests (npm test, node --test) run qiao\'s behavioural kit against its simulator and pass on the first run. Without --source or --target it gets both.';
  static override examples = [
    '<%= config.bin %> connectors new shop',
    '<%= config.bin %> connectors new shop --source',
    '<%= config.bin %> connectors new shop --target --dir vendor/shop --package @acme/qiao-connector-shop',
    '<%= config.bin %> connectors new my-crm --rest',
  ];
  static override args = { id: Args.string({ description: 'connector id, as schemes will name it (lowercase, e.g. shop)', required: true }) };
  static override flags = {
    source: Flags.boolean({ description: 'write a stream (read side)' }),
    target: Flags.boolean({ description: 'write an operation (write side)' }),
    rest: Flags.boolean({ description: 'a manifest-only REST connector for the rest connector: a manifest, its schema, an example scheme and a README; no code', exclusive: ['source', 'target', 'package'] }),
    force: Flags.boolean({ description: 'with --rest: overwrite files that exist' }),
    dir: Flags.string({ description: 'folder to write the package to', default: './connectors/<id>' }),
    package: Flags.string({ description: 'npm package name', default: 'qiao-connector-<id>' }),
    json: Flags.boolean({ description: 'print what was written as JSON' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(ConnectorsNew);
    if (flags.rest) return this.rest(args.id, flags.dir.replace('<id>', args.id), flags.force, flags.json);
    const problems = [];
    if (!/^[a-z][a-z0-9-]*$/.test(args.id)) {
      problems.push({ file: 'argument id', pointer: '', expected: 'a connector id: lowercase letters, digits and dashes, starting with a letter (shop, acme-crm)', found: JSON.stringify(args.id) });
    }
    const packageName = flags.package.replace('<id>', args.id);
    if (!isPackageName(packageName)) problems.push({ file: 'flag --package', pointer: '', expected: 'an npm package name (qiao-connector-shop, @acme/qiao-connector-shop)', found: JSON.stringify(packageName) });
    const dir = resolve(flags.dir.replace('<id>', args.id));
    if (existsSync(dir) && readdirSync(dir).length > 0) {
      problems.push({ file: 'flag --dir', pointer: '', expected: 'a folder that does not exist yet, or an empty one', found: `${dir} holds files`, hint: 'choose another --dir, or move that folder away' });
    }
    if (problems.length) throw new InputError(problems);
    const both = !flags.source && !flags.target;
    const files = scaffoldFiles({ id: args.id, packageName, source: both || flags.source, target: both || flags.target, dir, coreVersion: sdkIdentity.version });
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(dirname(join(dir, path)), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    const rel = relative(process.cwd(), dir) || '.';
    if (flags.json) return printJson({ id: args.id, package: packageName, dir, files: Object.keys(files) });
    out(`Wrote connector ${args.id} (${packageName}) to ${rel}:`);
    for (const f of Object.keys(files)) out(`  ${f}`);
    out(`\nNext:\n  cd ${rel} && npm test                 # the behavioural kit against the simulator\n  npx qiao connectors                     # lists ${args.id}\n  (cd ${rel} && npm run simulator) &      # then: npx qiao run ${join(rel, 'examples', `${args.id}.scheme.yaml`)}\nGuide: docs/authoring-connectors.md in qiao's repository.`);
  }

  /** `--rest`: a manifest-only connector (connector-rest's scaffold) in the package folder `dir`. */
  private rest(id: string, dir: string, force: boolean, json: boolean): void {
    const r = scaffoldRestConnector({ id, dir: resolve(dir), force });
    if (json) return printJson(r);
    err(`wrote ${r.dir}:\n${r.files.map((f) => `  ${f}`).join('\n')}`);
    err(`\nNext: edit ${id}.rest.yaml for your API, then qiao validate ${relative(process.cwd(), r.dir) || '.'}/${id}-to-file.scheme.yaml`);
  }
}
