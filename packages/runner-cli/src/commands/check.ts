import { Args, Flags } from '@oclif/core';
import { ConnectorAuthError, isQiaoError, wireEndpoint, type ResolvedEndpoint } from '@qiao/core';
import { QiaoCommand, renderError } from '../lib/base-command.js';
import { diagnose } from '../lib/diagnose.js';
import { loadSchemeForCli } from '../lib/load.js';
import { color, err, printJson, stderrLogger } from '../lib/output.js';

interface CheckResult {
  side: 'source' | 'target';
  connector: string;
  name: string;
  ok: boolean;
  message: string;
  hint?: string | undefined;
  code?: string | undefined;
}

export default class Check extends QiaoCommand {
  static override summary = "Check a scheme's connections: authenticate to both systems and make one cheap read on each.";
  static override description = 'Says plainly what failed: which system, which credential, what to check. Exit 0 when both connections work, 3 otherwise, 2 when the scheme is invalid.';
  static override examples = ['<%= config.bin %> check okki-to-yonbip.scheme.yaml', '<%= config.bin %> check okki-to-yonbip.scheme.yaml --json'];
  static override args = { scheme: Args.string({ description: 'scheme file (YAML or JSON)', required: true }) };
  static override flags = { json: Flags.boolean({ description: 'print the results as JSON' }) };

  async run(): Promise<void> {
    const { args, flags } = await this.parse(Check);
    const loaded = await loadSchemeForCli(args.scheme, { quiet: flags.json });
    const retry = { maxAttempts: 3, baseDelayMs: 300, maxDelayMs: 2000, maxElapsedMs: 15_000 };
    const logger = flags.debug ? stderrLogger(true) : undefined;
    const one = async (side: 'source' | 'target', endpoint: ResolvedEndpoint): Promise<CheckResult> => {
      const base = { side, connector: endpoint.manifest.id, name: endpoint.manifest.name };
      try {
        const wired = wireEndpoint(endpoint, { retry, ...(logger ? { logger } : {}) });
        return { ...base, ok: true, message: await wired.check() };
      } catch (e) {
        const q = isQiaoError(e) ? e : undefined;
        return {
          ...base,
          ok: false,
          message: renderError(e, false).replace(/^\S*Error:\S*\s*/, '').split('\n')[0]!,
          hint: q?.hint ?? (q?.reason ? diagnose(q.reason) : undefined) ?? (e instanceof ConnectorAuthError ? 'check the credentials' : undefined),
          code: q?.reason ?? q?.code,
        };
      }
    };
    const results = await Promise.all([one('source', loaded.source), one('target', loaded.target)]);
    if (flags.json) printJson(results);
    else {
      for (const r of results) {
        err(`${r.ok ? color.green('✓') : color.red('✗')} ${r.side} ${r.name} (${r.connector}): ${r.message}`);
        if (!r.ok && r.hint) err(`    hint: ${r.hint}`);
      }
    }
    this.exit(results.every((r) => r.ok) ? 0 : 3);
  }
}
