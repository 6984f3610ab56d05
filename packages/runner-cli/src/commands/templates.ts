import { Flags } from '@oclif/core';
import { QiaoCommand } from '../lib/base-command.js';
import { out, printJson, table } from '../lib/output.js';
import { listTemplates, templateDirs } from '../lib/templates.js';

export default class Templates extends QiaoCommand {
  static override summary = 'List scheme templates (the scheme market): built-in ones and those in your template folders.';
  static override description = 'Template folders: --templates DIR, then $QIAO_TEMPLATES (separated by ":"), then the built-in templates. A name found in an earlier folder hides the same name in a later one.';
  static override examples = ['<%= config.bin %> templates', '<%= config.bin %> templates --templates ./shared-schemes --json'];
  static override flags = {
    templates: Flags.string({ description: 'a folder of shared scheme files to list too' }),
    json: Flags.boolean({ description: 'print as JSON' }),
  };

  async run(): Promise<void> {
    const { flags } = await this.parse(Templates);
    const list = listTemplates(templateDirs(flags.templates));
    if (flags.json) return printJson(list);
    out(table(['template', 'source → target', 'name', 'from'], list.map((t) => [t.name, `${t.source} → ${t.target}`, t.title, t.origin])));
    out('\nStart one: qiao init my.scheme.yaml --template <template>');
  }
}
