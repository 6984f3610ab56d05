import { Args, Flags } from '@oclif/core';
import {
  ConnectorAuthError,
  InputError,
  isQiaoError,
  RetryableError,
  targetToken,
  wireEndpoint,
  type MappingSpec,
  type PreflightFinding,
  type ResolvedEndpoint,
  type Target,
} from '@qiao/core';
import { QiaoCommand, renderError } from '../lib/base-command.js';
import { diagnoseFor } from '../lib/diagnose.js';
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
  /** What the target operation checked in the target system (APIs registered, ids that exist). */
  findings?: PreflightFinding[] | undefined;
}

/** The mapping's constants (`field: { value: … }`) by target field, for the operation's preflight. */
function mappingConstants(mapping: MappingSpec): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [field, spec] of Object.entries(mapping)) {
    if (spec !== null && typeof spec === 'object' && 'value' in spec) out[field] = spec.value;
  }
  return out;
}

export default class Check extends QiaoCommand {
  static override summary = "Check a scheme's connections: authenticate to both systems, make one cheap read on each, and check what the target operation needs.";
  static override description =
    "Says plainly what failed: which system, which credential, what to check. Then the target operation checks the target system where its APIs allow it: for YonBIP, that each API the scheme uses is registered on the tenant's gateway and that the org (createOrg) and customer class (customerClass) the mapping sets exist. Exit 0 when all is well, 3 otherwise, 2 when the scheme is invalid.";
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
      let result: CheckResult;
      const wired = wireEndpoint(endpoint, { retry, side, ...(logger ? { logger } : {}) });
      let unreachable = false;
      try {
        result = { ...base, ok: true, message: await wired.check() };
      } catch (e) {
        const q = isQiaoError(e) ? e : undefined;
        unreachable = e instanceof RetryableError || e instanceof InputError;
        result = {
          ...base,
          ok: false,
          message: renderError(e, false).replace(/^\S*Error:\S*\s*/, '').split('\n')[0]!,
          hint: q?.hint ?? (q?.reason ? diagnoseFor(args.scheme)(q.reason) : undefined) ?? (e instanceof ConnectorAuthError ? 'check the credentials' : undefined),
          code: q?.reason ?? q?.code,
        };
      }
      // The operation's own checks also run when the connection check failed for an API it could not
      // call (a missing or unauthorised API), so every missing API is named; not when nothing answers.
      if (side === 'target' && !unreachable) result.findings = await preflight(wired.container.resolve<Target>(targetToken(loaded.target.operation.id)));
      // the line names the system already: a message that starts with its name says it once
      if (result.message.startsWith(base.name)) result.message = result.message.slice(base.name.length).replace(/^[:：\s]+/, '');
      return result;
    };
    const preflight = async (target: Target): Promise<PreflightFinding[] | undefined> => {
      if (!target.preflight) return undefined;
      try {
        return await target.preflight({ constants: mappingConstants(loaded.scheme.mapping) });
      } catch (e) {
        const q = isQiaoError(e) ? e : undefined;
        return [{ ok: false, subject: loaded.target.operation.id, message: `could not check: ${(e as Error).message.split('\n')[0]}`, hint: q?.hint, reason: q?.reason }];
      }
    };
    const results = await Promise.all([one('source', loaded.source), one('target', loaded.target)]);
    if (flags.json) printJson(results);
    else {
      for (const r of results) {
        err(`${r.ok ? color.green('✓') : color.red('✗')} ${r.side} ${r.name} (${r.connector}): ${r.message}`);
        if (!r.ok && r.hint) err(`    hint: ${r.hint}`);
        for (const f of r.findings ?? []) {
          err(`  ${f.ok ? color.green('✓') : color.red('✗')} ${f.subject}: ${f.message}`);
          if (!f.ok && f.hint) err(`      hint: ${f.hint}`);
        }
      }
    }
    const allOk = results.every((r) => r.ok && (r.findings ?? []).every((f) => f.ok));
    this.exit(allOk ? 0 : 3);
  }
}
