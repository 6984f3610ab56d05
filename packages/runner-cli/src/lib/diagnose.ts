import { matchDiagnosis, type ConnectorPlugin, type Diagnosis } from '@qiao/core';

/** The hint for an error reason and message, if qiao or a connector knows one. */
export type Diagnose = (reason: string, message?: string) => string | undefined;

/**
 * Hints for the reasons qiao itself produces, whatever the connectors. A connector's own reasons are
 * explained by its plugin's `diagnoses`, which come first.
 */
export const genericDiagnoses: readonly Diagnosis[] = [
  { reason: 'mapping.error', hint: "A mapping expression failed for this record: fix it in the scheme's mapping block, then `qiao queue retry <scheme>`." },
  {
    reason: 'payload.invalid',
    hint: "The mapped payload does not fit the target operation's schema: fix the mapping (see `qiao preview <scheme>`), then `qiao queue retry <scheme>`.",
  },
  {
    reason: 'target.key_collision',
    hint:
      'Two source records map to one target key (the operation upsert key, e.g. code): fix the value the key is mapped from in the source for the refused record (the first one named), ' +
      'then `qiao run`, which reads the edited record and replaces this dead letter. qiao never merges two records into one.',
  },
  { reason: /\.network$/, hint: 'The system could not be reached: check the URL and the network; queued writes are kept and resume on the next run.' },
  {
    reason: /\.rate_limited$/,
    hint: 'The system kept answering "too many requests": lower requestsPerSecond / concurrency under source.limits or target.limits in the scheme.',
  },
  { reason: 'internal', hint: 'This looks like a bug in qiao or a connector: run again with --debug and report it.' },
];

/** A diagnoser over the given plugins' diagnoses, then qiao's generic ones. */
export function diagnoser(plugins: readonly ConnectorPlugin[]): Diagnose {
  const list = [...plugins.flatMap((p) => p.diagnoses ?? []), ...genericDiagnoses];
  return (reason, message = '') => matchDiagnosis(list, reason, message);
}

// The connectors this process has resolved (a command loads the ones its scheme names); their
// diagnoses feed `diagnose`, so views built from state alone need no plugin passed down to them.
const known = new Set<ConnectorPlugin>();
let current: Diagnose = diagnoser([]);

/** Adds a resolved connector's diagnoses to {@link diagnose}. */
export function learnDiagnoses(plugin: ConnectorPlugin): void {
  if (known.has(plugin)) return;
  known.add(plugin);
  current = diagnoser([...known]);
}

/**
 * The hint for an error, from the diagnoses of every connector this process has resolved, then qiao's
 * generic ones. Shown in run reports, the run overview, the write queue, the served page and alerts.
 */
export const diagnose: Diagnose = (reason, message = '') => current(reason, message);

/**
 * {@link diagnose} for one scheme: the `<scheme>` placeholder of a hint (`qiao queue retry <scheme>`)
 * becomes the scheme as the user named it (the file given, or the scheme id), so the command can be
 * copied as it is.
 */
export function diagnoseFor(scheme: string): Diagnose {
  const named = /^[\w./@:+-]+$/.test(scheme) ? scheme : `'${scheme.replace(/'/g, "'\\''")}'`;
  return (reason, message = '') => current(reason, message)?.replaceAll('<scheme>', named);
}
