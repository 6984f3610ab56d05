import { Args, Flags } from '@oclif/core';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { InputError } from '@qiao/core';
import { parseDocument, stringify } from 'yaml';
import { QiaoCommand } from '../lib/base-command.js';
import { err, printJson, table } from '../lib/output.js';
import { envVariables, listTemplates, templateDirs } from '../lib/templates.js';

export default class Init extends QiaoCommand {
  static override summary = 'Write a new scheme file from a template or from any shared scheme file.';
  static override description = 'The file is written as JSON when its name ends in .json, as YAML otherwise (a YAML template written as JSON loses its comments).';
  static override examples = [
    '<%= config.bin %> init okki-to-yonbip.scheme.yaml --template okki-to-yonbip',
    '<%= config.bin %> init mine.scheme.yaml --from ./shared/colleague.scheme.yaml',
  ];
  static override args = { file: Args.string({ description: 'the scheme file to write', required: true }) };
  static override flags = {
    template: Flags.string({ char: 't', description: 'template name (see `qiao templates`)', exclusive: ['from'] }),
    from: Flags.string({ description: 'start from this scheme file instead of a template', exclusive: ['template'] }),
    templates: Flags.string({ description: 'a folder of shared scheme files to look for the template in' }),
    force: Flags.boolean({ description: 'overwrite the file if it exists' }),
    json: Flags.boolean({ description: 'print the file written and the variables to set as JSON' }),
  };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Init);
    let sourceFile: string;
    if (flags.from) {
      if (!existsSync(flags.from)) {
        throw new InputError([{ file: flags.from, pointer: '', expected: 'a readable scheme file', found: 'no such file', hint: 'check the path given to --from' }]);
      }
      sourceFile = flags.from;
    } else {
      const name = flags.template ?? 'okki-to-yonbip';
      const all = listTemplates(templateDirs(flags.templates));
      const t = all.find((x) => x.name === name);
      if (!t) {
        throw new InputError([
          { file: 'flag --template', pointer: '', expected: `a known template (${all.map((x) => x.name).join(', ')})`, found: JSON.stringify(name), hint: 'see `qiao templates`' },
        ]);
      }
      sourceFile = t.file;
    }
    if (existsSync(args.file) && !flags.force) {
      throw new InputError([{ file: args.file, pointer: '', expected: 'a path that does not exist yet', found: 'an existing file', hint: 'choose another name, or pass --force to overwrite it' }]);
    }
    const { text, converted } = inFormatOf(args.file, readFileSync(sourceFile, 'utf8'), sourceFile);
    try {
      writeFileSync(args.file, text);
    } catch (e) {
      // a write error names no file: name it (the disk full, a folder without write access)
      throw Object.assign(e as Error, { path: (e as NodeJS.ErrnoException).path ?? args.file });
    }
    const vars = envVariables(text);
    if (flags.json) return printJson({ file: args.file, from: sourceFile, format: isJsonFile(args.file) ? 'json' : 'yaml', variables: vars });
    err(`wrote ${args.file} (from ${sourceFile}${converted ? `, as ${converted}${converted === "JSON" ? "; JSON holds no comments: the YAML template explains each field" : ""}` : ''})`);
    const required = vars.filter((v) => v.default === undefined);
    const optional = vars.filter((v) => v.default !== undefined);
    if (required.length) err(`\nSet these before running it:\n${table(['variable', 'used at'], required.map((v) => [v.name, v.usedAt]))}`);
    if (optional.length) err(`\nOptional (defaults shown):\n${table(['variable', 'default'], optional.map((v) => [v.name, v.default || '(empty: left out)']))}`);
    err(`\nThen: qiao validate ${args.file} && qiao check ${args.file} && qiao preview ${args.file}`);
  }
}

const isJsonFile = (file: string) => file.toLowerCase().endsWith('.json');

/**
 * The scheme text in the format the file's name says: JSON for `.json`, YAML otherwise. A YAML template
 * written to a `.json` file becomes JSON (its comments are dropped), a JSON one written to `.yaml`
 * becomes YAML; same format: the text as it is, comments kept.
 */
function inFormatOf(file: string, text: string, from: string): { text: string; converted?: 'JSON' | 'YAML' } {
  const wantJson = isJsonFile(file);
  let isJson = true;
  try {
    JSON.parse(text);
  } catch {
    isJson = false;
  }
  if (wantJson === isJson) return { text };
  const doc = parseDocument(text);
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    throw new InputError([{ file: from, pointer: '', line: e.linePos?.[0].line, expected: 'a scheme file that parses, to convert it', found: e.message.split('\n')[0]!, hint: `write it with the same extension as ${from}, or fix it first` }]);
  }
  const value = doc.toJS() as unknown;
  return wantJson ? { text: JSON.stringify(value, null, 2) + '\n', converted: 'JSON' } : { text: stringify(value), converted: 'YAML' };
}
