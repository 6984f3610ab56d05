import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseDocument } from 'yaml';

/** Templates that ship with the CLI (the scheme market's first entries). */
export const BUILTIN_TEMPLATES = fileURLToPath(new URL('../../templates/', import.meta.url));

export interface TemplateInfo {
  name: string;
  file: string;
  title: string;
  description: string;
  source: string;
  target: string;
  origin: 'built-in' | string;
}

const SUFFIXES = ['.scheme.yaml', '.scheme.yml', '.scheme.json', '.yaml', '.yml', '.json'];

/** Template folders, in order: `--templates DIR`, `QIAO_TEMPLATES` (path-separated), then the built-in ones. */
export function templateDirs(flag?: string, env = process.env): string[] {
  const dirs: string[] = [];
  if (flag) dirs.push(resolve(flag));
  for (const d of (env.QIAO_TEMPLATES ?? '').split(':').filter(Boolean)) dirs.push(resolve(d));
  dirs.push(BUILTIN_TEMPLATES);
  return dirs;
}

export function listTemplates(dirs: string[]): TemplateInfo[] {
  const seen = new Set<string>();
  const out: TemplateInfo[] = [];
  for (const dir of dirs) {
    if (!existsSync(dir) || !statSync(dir).isDirectory()) continue;
    for (const f of readdirSync(dir).sort()) {
      const suffix = SUFFIXES.find((s) => f.endsWith(s));
      if (!suffix) continue;
      const name = f.slice(0, -suffix.length);
      if (seen.has(name)) continue; // an earlier folder overrides a later one
      const file = join(dir, f);
      const info = describeTemplate(name, file, dir === BUILTIN_TEMPLATES ? 'built-in' : dir);
      if (info) {
        seen.add(name);
        out.push(info);
      }
    }
  }
  return out;
}

function describeTemplate(name: string, file: string, origin: string): TemplateInfo | undefined {
  try {
    const doc = parseDocument(readFileSync(file, 'utf8'));
    const s = doc.toJS() as {
      id?: string;
      name?: string;
      description?: string;
      source?: { connector?: string; stream?: string };
      target?: { connector?: string; operation?: string };
    } | null;
    if (!s || typeof s !== 'object' || !s.source || !s.target) return undefined;
    return {
      name,
      file,
      title: s.name ?? s.id ?? name,
      description: s.description ?? '',
      source: `${s.source.connector}/${s.source.stream}`,
      target: `${s.target.connector}/${s.target.operation}`,
      origin,
    };
  } catch {
    return undefined;
  }
}

export interface EnvVariable {
  name: string;
  default?: string;
  /** Where the scheme uses it (JSON-ish path from the YAML). */
  usedAt: string;
}

/** The `${env:…}` variables a scheme text reads, in order of first use. */
export function envVariables(text: string): EnvVariable[] {
  const out = new Map<string, EnvVariable>();
  const lines = text.split('\n');
  const re = /\$\{env:([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;
  lines.forEach((line, i) => {
    if (line.trimStart().startsWith('#')) return;
    for (const m of line.matchAll(re)) {
      if (!out.has(m[1]!)) out.set(m[1]!, { name: m[1]!, ...(m[2] !== undefined ? { default: m[2] } : {}), usedAt: `line ${i + 1}` });
    }
  });
  return [...out.values()];
}
