import { distance } from 'fastest-levenshtein';
import type { ConnectorPlugin } from '../contracts/connector-plugin.js';
import { InputError, type Problem } from '../errors/errors.js';
import { compileSchema, describe, pointerEscape, problemsFromAjv } from '../manifest/ajv.js';
import type { OperationManifest, StreamManifest } from '../manifest/manifest-types.js';
import { DeclarativeMapper } from '../mapping/declarative.mapper.js';
import { checkMappingSources } from './mapping-fields.js';
import { parseDuration } from './resolve-env.js';
import { schemeSchema } from './scheme.schema.js';
import type { ConnectorResolver, SchemeFile } from './scheme-types.js';

/** Checks a scheme (its `${env:…}` resolved) against the scheme schema; `[]` when it fits. */
export function checkSchemeShape(resolved: unknown, file: string): Problem[] {
  const validate = compileSchema(schemeSchema, { coerceTypes: true });
  if (validate(resolved)) return [];
  return problemsFromAjv(validate.errors, file, resolved, '', (e) =>
    e.keyword === 'additionalProperties'
      ? `remove it, or check its spelling; allowed here: ${Object.keys(schemaAt(e.schemaPath) ?? {}).join(', ')}`
      : undefined,
  );
}

/** What a scheme of the right shape names, checked against the connectors' manifests. */
export interface CheckedScheme {
  sourcePlugin: ConnectorPlugin | undefined;
  targetPlugin: ConnectorPlugin | undefined;
  stream: StreamManifest | undefined;
  /** The stream's params, defaults applied. */
  params: Record<string, unknown>;
  sourceConnection: Record<string, unknown>;
  operation: OperationManifest | undefined;
  targetConnection: Record<string, unknown>;
  mapper: DeclarativeMapper;
  lookbackMs: number;
  /** Fields the mapping reads that the record schema does not list but allows (see mapping-fields.ts). */
  warnings: Problem[];
}

/**
 * Checks what a scheme names against the connectors it names: the connectors themselves ("did you
 * mean"), the stream and its params, the operation, both connections, the mapping's expressions, the
 * source fields they read and their target fields, and the incremental settings. Adds every problem found to `problems`, in that order.
 */
export async function checkAgainstConnectors(scheme: SchemeFile, file: string, resolver: ConnectorResolver, problems: Problem[]): Promise<CheckedScheme> {
  const [sourcePlugin, targetPlugin] = await Promise.all([
    resolvePlugin(scheme.source.connector, '/source/connector', file, resolver, problems).then((p) => bindPlugin(p, scheme.source.connection, '/source/connection', file, problems)),
    resolvePlugin(scheme.target.connector, '/target/connector', file, resolver, problems).then((p) => bindPlugin(p, scheme.target.connection, '/target/connection', file, problems)),
  ]);

  let stream: StreamManifest | undefined;
  let params: Record<string, unknown> = {};
  let sourceConnection: Record<string, unknown> = {};
  if (sourcePlugin) {
    const m = sourcePlugin.manifest;
    stream = m.streams.find((s) => s.id === scheme.source.stream);
    if (!stream) {
      problems.push({
        file,
        pointer: '/source/stream',
        expected: `a stream of connector ${m.id} (${m.streams.map((s) => s.id).join(', ') || 'it has none'})`,
        found: JSON.stringify(scheme.source.stream),
        hint: `see \`qiao connectors describe ${m.id}\``,
      });
    } else {
      params = checkAgainst(stream.params, scheme.source.params ?? {}, file, '/source/params', problems);
    }
    sourceConnection = checkAgainst(m.connection, scheme.source.connection ?? {}, file, '/source/connection', problems);
  }

  let operation: OperationManifest | undefined;
  let targetConnection: Record<string, unknown> = {};
  if (targetPlugin) {
    const m = targetPlugin.manifest;
    operation = m.operations.find((o) => o.id === scheme.target.operation);
    if (!operation) {
      problems.push({
        file,
        pointer: '/target/operation',
        expected: `an operation of connector ${m.id} (${m.operations.map((o) => o.id).join(', ') || 'it has none'})`,
        found: JSON.stringify(scheme.target.operation),
        hint: `see \`qiao connectors describe ${m.id}\``,
      });
    }
    targetConnection = checkAgainst(m.connection, scheme.target.connection ?? {}, file, '/target/connection', problems);
  }

  if (scheme.target.onDelete === 'stop') problems.push(...checkOnDeleteStop(scheme, stream, operation, file));

  const { mapper, problems: mappingProblems } = DeclarativeMapper.compile(scheme.mapping, file);
  problems.push(...mappingProblems);
  // the fields each expression reads, against the stream's record schema ("did you mean homepage?")
  const sources = checkMappingSources(scheme.mapping, stream?.record as Record<string, unknown> | undefined, file, { connector: scheme.source.connector, stream: scheme.source.stream }, closest);
  problems.push(...sources.problems);
  if (operation) problems.push(...checkMappingTargets(scheme, operation, file));
  problems.push(...checkKeepWhenEmpty(scheme, file));

  const { lookbackMs, problems: incrementalProblems } = checkIncremental(scheme, stream, file);
  problems.push(...incrementalProblems);

  return { sourcePlugin, targetPlugin, stream, params, sourceConnection, operation, targetConnection, mapper, lookbackMs, warnings: sources.warnings };
}

/**
 * A checker of mapped payloads against the operation's input schema; `[]` when a payload passes.
 * The validator is compiled when first needed: for a 60-field input that is tens of milliseconds.
 */
export function payloadChecker(connector: string, operation: OperationManifest): (payload: unknown) => Problem[] {
  let validateInput: ReturnType<typeof compileSchema> | undefined;
  return (payload) => {
    validateInput ??= compileSchema(operation.input);
    return validateInput(payload) ? [] : problemsFromAjv(validateInput.errors, `${connector} ${operation.id} payload`, payload);
  };
}

/** The known name closest to `name` (edit distance ≤ 2, case ignored), for "did you mean". */
export function closest(name: string, known: string[]): string | undefined {
  let best: string | undefined;
  let bestD = 3;
  for (const k of known) {
    const d = distance(name.toLowerCase(), k.toLowerCase());
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best;
}

/** `onDelete: stop` needs a stream that lists deleted records and an operation that can stop one. */
function checkOnDeleteStop(scheme: SchemeFile, stream: StreamManifest | undefined, operation: OperationManifest | undefined, file: string): Problem[] {
  const problems: Problem[] = [];
  if (stream && !stream.deletions) {
    problems.push({
      file,
      pointer: '/target/onDelete',
      expected: `a source stream that lists deleted records (its manifest declares "deletions")`,
      found: `stream ${scheme.source.connector} ${stream.id}, which cannot`,
      hint: 'remove onDelete (or set it to report)',
    });
  }
  if (operation && !operation.remove) {
    problems.push({
      file,
      pointer: '/target/onDelete',
      expected: `an operation that can stop the records it wrote (its manifest declares "remove")`,
      found: `operation ${scheme.target.connector} ${operation.id}, which cannot`,
      hint: 'set onDelete to report: deleted records are then listed by `qiao overview`',
    });
  }
  return problems;
}

/** Mapping targets the operation does not have, when its input allows no other fields. */
function checkMappingTargets(scheme: SchemeFile, operation: OperationManifest, file: string): Problem[] {
  if (operation.input.additionalProperties !== false) return [];
  const problems: Problem[] = [];
  const known = Object.keys(operation.input.properties ?? {});
  for (const target of Object.keys(scheme.mapping)) {
    const head = target.split('.')[0]!;
    if (known.includes(head)) continue;
    const guess = closest(head, known);
    problems.push({
      file,
      pointer: `/mapping/${pointerEscape(target)}`,
      expected: `a field of ${scheme.target.connector} ${operation.id}`,
      found: JSON.stringify(head),
      hint: guess ? `did you mean ${guess}?` : `see \`qiao connectors describe ${scheme.target.connector}\``,
    });
  }
  return problems;
}

/** `target.keepWhenEmpty`: each entry a top-level field the mapping fills (what an update could clear). */
function checkKeepWhenEmpty(scheme: SchemeFile, file: string): Problem[] {
  const heads = [...new Set(Object.keys(scheme.mapping).map((t) => t.split('.')[0]!))];
  return (scheme.target.keepWhenEmpty ?? []).flatMap((field, i): Problem[] => {
    if (heads.includes(field)) return [];
    const guess = closest(field, heads);
    return [
      {
        file,
        pointer: `/target/keepWhenEmpty/${i}`,
        expected: `a top-level field the mapping fills (${heads.join(', ')})`,
        found: JSON.stringify(field),
        hint: guess ? `did you mean ${guess}?` : field.includes('.') ? `name the top-level field: ${field.split('.')[0]}` : 'remove it, or map the field',
      },
    ];
  });
}

/** `source.incremental`: a lookback that parses, on a stream that has a cursor. */
function checkIncremental(scheme: SchemeFile, stream: StreamManifest | undefined, file: string): { lookbackMs: number; problems: Problem[] } {
  const problems: Problem[] = [];
  let lookbackMs = 0;
  const inc = scheme.source.incremental;
  if (typeof inc === 'object' && inc.lookback !== undefined) {
    const d = parseDuration(inc.lookback);
    if (d === undefined) {
      problems.push({
        file,
        pointer: '/source/incremental/lookback',
        expected: 'a duration such as 10m, 1h, 30s or a number of milliseconds',
        found: describe(inc.lookback),
      });
    } else lookbackMs = d;
  }
  if (inc && stream && !stream.cursor) {
    problems.push({
      file,
      pointer: '/source/incremental',
      expected: `a stream with a cursor for incremental reads (stream ${stream.id} has none)`,
      found: JSON.stringify(inc),
      hint: 'remove source.incremental',
    });
  }
  return { lookbackMs, problems };
}

async function resolvePlugin(
  id: string,
  pointer: string,
  file: string,
  resolver: ConnectorResolver,
  problems: Problem[],
): Promise<ConnectorPlugin | undefined> {
  let plugin: ConnectorPlugin | undefined;
  try {
    plugin = await resolver.resolve(id);
  } catch (e) {
    if (e instanceof InputError) {
      // the resolver says which case it is (not installed, failed to load, invalid manifest…), problem by problem
      for (const p of e.problems) problems.push({ ...p, hint: `${p.hint ? `${p.hint}; ` : ''}the scheme names it at ${file} ${pointer}` });
    } else {
      problems.push({ file, pointer, expected: `a loadable connector package ${resolver.packageName(id)}`, found: (e as Error).message });
    }
    return undefined;
  }
  if (!plugin) {
    const known = resolver.known();
    const guess = closest(id, known);
    problems.push({
      file,
      pointer,
      expected: `a known connector (${known.join(', ')})`,
      found: JSON.stringify(id),
      hint: guess ? `did you mean ${guess}?` : `install the package ${resolver.packageName(id)}, or use one of ${known.join(', ')}`,
    });
  }
  return plugin;
}

/** A plugin bound to the file its connection names ({@link ConnectorPlugin.bind}); its problems are the scheme's. */
async function bindPlugin(
  plugin: ConnectorPlugin | undefined,
  connection: Record<string, unknown> | undefined,
  pointer: string,
  file: string,
  problems: Problem[],
): Promise<ConnectorPlugin | undefined> {
  if (!plugin?.bind) return plugin;
  try {
    return await plugin.bind(connection ?? {}, { file, pointer });
  } catch (e) {
    const listed = (e as { problems?: Problem[] }).problems;
    if (Array.isArray(listed)) problems.push(...listed);
    else problems.push({ file, pointer, expected: `a connection connector ${plugin.manifest.id} can use`, found: (e as Error).message });
    return undefined;
  }
}

/** Validates `value` against `schema` (defaults applied, numeric strings coerced) and returns the result. */
function checkAgainst(
  schema: object,
  value: Record<string, unknown>,
  file: string,
  pointer: string,
  problems: Problem[],
): Record<string, unknown> {
  const copy = structuredClone(value);
  const validate = compileSchema(schema, { useDefaults: true, coerceTypes: true });
  if (!validate(copy)) {
    problems.push(
      ...problemsFromAjv(validate.errors, file, copy, pointer, (e) =>
        e.keyword === 'additionalProperties' ? `allowed here: ${Object.keys((schema as { properties?: object }).properties ?? {}).join(', ')}` : undefined,
      ),
    );
  }
  return copy;
}

function schemaAt(schemaPath: string): Record<string, unknown> | undefined {
  // "#/properties/source/additionalProperties" → properties of that object
  const parts = schemaPath.replace(/^#\//, '').split('/').slice(0, -1);
  let cur: unknown = schemeSchema;
  for (const p of parts) cur = (cur as Record<string, unknown> | undefined)?.[p];
  return (cur as { properties?: Record<string, unknown> } | undefined)?.properties;
}
