import { open, stat } from 'node:fs/promises';
import { extname } from 'node:path';
import { LineCounter, parseDocument, isNode, type Document, type YAMLError } from 'yaml';
import { InputError, type Problem } from '../errors/errors.js';
import { describe } from '../manifest/ajv.js';

/** Largest scheme file accepted. */
export const MAX_SCHEME_BYTES = 1024 * 1024;

/** A scheme file read and parsed, before anything in it is resolved or checked. */
export interface ParsedScheme {
  /** The document as plain data: an object. */
  raw: unknown;
  /** The 1-based line a JSON pointer of the document starts on (or its nearest parent's), when known. */
  lineOf(pointer: string): number | undefined;
}

/**
 * Reads a scheme file and parses it: YAML, or JSON when the name ends in `.json`. Refuses, with an
 * {@link InputError} naming the file (and the line, for a syntax error), a file that cannot be read,
 * is larger than {@link MAX_SCHEME_BYTES}, is binary, does not parse, expands beyond a few aliases, nests
 * deeper than {@link MAX_SCHEME_DEPTH} levels or is not an object.
 * @param text the scheme's text, when it is not read from `file` (`file` still names it)
 */
export async function readScheme(file: string, text?: string): Promise<ParsedScheme> {
  const { raw, doc, lines } = parseText(file, text ?? (await readSchemeText(file)));
  return { raw, lineOf: (pointer) => lineAt(doc, lines, pointer) };
}

/** The problems, each with the line of its pointer when it has none. */
export function withLines(problems: Problem[], lineOf: (pointer: string) => number | undefined, file?: string): Problem[] {
  return problems.map((p) => {
    // a problem in another file (a connector's manifest) has no line in this one
    if (p.line || (file !== undefined && p.file !== file)) return p;
    const line = lineOf(p.pointer);
    return line ? { ...p, line } : p;
  });
}

async function readSchemeText(file: string): Promise<string> {
  let buf: Buffer;
  try {
    buf = await readAtMost(file, MAX_SCHEME_BYTES + 1);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new InputError([
      {
        file,
        pointer: '',
        expected: 'a readable scheme file',
        found: code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'a directory' : String(code ?? (e as Error).message),
        hint: 'check the path, or create one with `qiao init <file> --template okki-to-yonbip`',
      },
    ]);
  }
  if (buf.length > MAX_SCHEME_BYTES) {
    const size = await stat(file).then((st) => (st.isFile() ? st.size : undefined), () => undefined);
    throw new InputError([
      {
        file,
        pointer: '',
        expected: `a scheme file of at most ${MAX_SCHEME_BYTES / 1024} KiB`,
        found: size === undefined ? `more than ${MAX_SCHEME_BYTES / 1024} KiB` : `${Math.round(size / 1024)} KiB`,
        hint: 'a scheme holds settings and a mapping, not data; check that this is the right file',
      },
    ]);
  }
  // A byte-order mark (Windows editors write one) is not part of the document; JSON.parse refuses it.
  const text = buf.toString('utf8').replace(/^\uFEFF/, '');
  if (buf.includes(0) || text.includes('\uFFFD')) {
    throw new InputError([
      { file, pointer: '', expected: 'a UTF-8 text file (YAML or JSON)', found: 'binary data', hint: 'check that this is the right file' },
    ]);
  }
  return text;
}

/**
 * Reads at most `limit` bytes: a device or pipe named as the scheme (`/dev/zero`, a FIFO) cannot make
 * qiao read without end.
 */
async function readAtMost(file: string, limit: number): Promise<Buffer> {
  const handle = await open(file, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    while (total < limit) {
      const chunk = Buffer.alloc(Math.min(64 * 1024, limit - total));
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, null);
      if (bytesRead === 0) break;
      chunks.push(chunk.subarray(0, bytesRead));
      total += bytesRead;
    }
    return Buffer.concat(chunks, total);
  } finally {
    await handle.close();
  }
}

/** Deepest nesting a scheme may have; real schemes stay under 10 levels. */
export const MAX_SCHEME_DEPTH = 64;

/** Whether `value` nests objects or arrays deeper than `max` levels (checked without recursion). */
function nestedDeeperThan(value: unknown, max: number): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth > max) return true;
    for (const child of Object.values(v as Record<string, unknown>)) stack.push([child, depth + 1]);
  }
  return false;
}

function notAnObject(file: string, raw: unknown): InputError {
  return new InputError([
    { file, pointer: '', expected: 'a scheme object (version, id, source, target, mapping)', found: describe(raw), hint: 'start from `qiao init <file> --template okki-to-yonbip`' },
  ]);
}

function tooDeep(file: string): InputError {
  return new InputError([
    {
      file,
      pointer: '',
      expected: `a scheme nested at most ${MAX_SCHEME_DEPTH} levels deep`,
      found: 'deeper nesting',
      hint: 'a scheme holds settings and a mapping, not data; check that this is the right file',
    },
  ]);
}

function parseText(file: string, text: string): { raw: unknown; doc: Document | undefined; lines: LineCounter } {
  const lines = new LineCounter();
  const isJson = extname(file).toLowerCase() === '.json';
  if (isJson) {
    try {
      const raw: unknown = JSON.parse(text);
      if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw notAnObject(file, raw);
      if (nestedDeeperThan(raw, MAX_SCHEME_DEPTH)) throw tooDeep(file);
      return { raw, doc: parseDocument(text, { lineCounter: lines }), lines };
    } catch (e) {
      if (e instanceof InputError) throw e;
      // V8 quotes the text around the error ("…" is not valid JSON); that text may hold a literal secret.
      const msg = (e as Error).message.replace(/,\s*(?:\.\.\.)?".*" is not valid JSON$/s, '');
      const pos = /position (\d+)/.exec(msg);
      const before = pos ? text.slice(0, Number(pos[1])).split('\n') : undefined;
      const line = before?.length;
      throw new InputError([
        {
          file,
          pointer: '',
          ...(line ? { line, column: before![before!.length - 1]!.length + 1 } : {}),
          expected: 'valid JSON',
          found: `a syntax error (${msg})`,
          hint: 'check commas, quotes and brackets near that line',
        },
      ]);
    }
  }
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length) throw new InputError(yamlProblems(file, text, doc.errors, lines));
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: 100 });
  } catch (e) {
    // yaml refuses alias expansion beyond maxAliasCount ("billion laughs") with a ReferenceError.
    throw new InputError([
      {
        file,
        pointer: '',
        expected: 'valid YAML',
        found: `a document that cannot be expanded (${(e as Error).message})`,
        hint: 'a scheme needs few or no aliases (*name); write the values out',
      },
    ]);
  }
  if (nestedDeeperThan(raw, MAX_SCHEME_DEPTH)) throw tooDeep(file);
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) throw notAnObject(file, raw);
  return { raw, doc, lines };
}

function lineAt(doc: Document | undefined, lines: LineCounter, pointer: string): number | undefined {
  if (!doc || !pointer) return undefined;
  const path = pointer.split('/').slice(1).map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  for (let n = path.length; n > 0; n--) {
    const node = doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) return lines.linePos(node.range[0]).line;
  }
  return undefined;
}

/**
 * One problem per mistake: the yaml package reports a mistake where it meets it and again at every
 * line it throws off (a key indented one space too far gives 2 errors on its line; a block's first key
 * indented differently gives one "All mapping items must start at the same column" per sibling). Errors
 * on one line are one problem; the indentation errors of a document are one problem at the first, with
 * the other lines named and the line that set the block's column found.
 */
function yamlProblems(file: string, text: string, errors: readonly YAMLError[], lines: LineCounter): Problem[] {
  interface Group { line: number; column: number; message: string; code: string; otherLines: number[] }
  const groups: Group[] = [];
  for (const e of errors) {
    const { line, col } = lines.linePos(e.pos[0]);
    const message = e.message.split('\n')[0]!;
    const sameLine = groups.find((g) => g.line === line);
    if (sameLine) continue;
    const indent = e.code === 'BAD_INDENT' ? groups.find((g) => g.code === 'BAD_INDENT') : undefined;
    if (indent) {
      indent.otherLines.push(line);
      continue;
    }
    groups.push({ line, column: col, message, code: e.code, otherLines: [] });
  }
  const all = text.split('\n');
  return groups.map((g) => {
    const also = g.otherLines.length ? ` (and the same at line${g.otherLines.length > 1 ? 's' : ''} ${g.otherLines.slice(0, 8).join(', ')}${g.otherLines.length > 8 ? ', …' : ''})` : '';
    const indentation = g.code === 'BAD_INDENT' || /indent|compact mapping|implicit key/i.test(g.message);
    const block = indentation ? blockStart(all, g.line) : undefined;
    let under = indentation && !block ? keyWithValueAbove(all, g.line) : undefined;
    if (indentation && !block && !under) {
      // yaml points at the value of the key above the line indented too far
      const next = all.findIndex((l, n) => n >= g.line && l.trim() !== '' && !l.trimStart().startsWith('#'));
      if (next >= 0 && keyWithValueAbove(all, next + 1)) {
        under = keyWithValueAbove(all, next + 1);
        g.line = next + 1;
      }
    }
    const column = block || under ? indentOf(all[g.line - 1] ?? '') + 1 : g.column;
    return {
      file,
      pointer: '',
      line: g.line,
      column,
      expected: 'valid YAML',
      found: `a syntax error (${g.message})${also}`,
      hint: block
        ? `line ${block.line} starts this block at column ${block.column}, line ${g.line} is at column ${column}: indent every key of a block by the same spaces (no tabs)`
        : under
          ? `line ${g.line} is indented more than line ${under.line}, whose key already has a value: start it at column ${under.column} like that line (or remove the value of line ${under.line} to nest under it)`
          : 'check indentation, colons and quotes near that line',
    };
  });
}

/** The first key of the block a line belongs to, when it is indented differently from that line. */
function blockStart(all: string[], line: number): { line: number; column: number } | undefined {
  const own = all[line - 1];
  if (own === undefined) return undefined;
  const i = indentOf(own);
  const meaningful = (l: string) => l.trim() !== '' && !l.trimStart().startsWith('#');
  let parent = line - 2;
  while (parent >= 0 && !(meaningful(all[parent]!) && indentOf(all[parent]!) < i)) parent--;
  for (let n = parent + 1; n < line - 1; n++) {
    if (!meaningful(all[n]!)) continue;
    const j = indentOf(all[n]!);
    return j !== i ? { line: n + 1, column: j + 1 } : undefined;
  }
  return undefined;
}

/** The line above, indented less, when it is a key with a value on its own line (`name: value`). */
function keyWithValueAbove(all: string[], line: number): { line: number; column: number } | undefined {
  const own = all[line - 1];
  if (own === undefined) return undefined;
  for (let n = line - 2; n >= 0; n--) {
    const l = all[n]!;
    if (l.trim() === '' || l.trimStart().startsWith('#')) continue;
    return indentOf(l) < indentOf(own) && /^\s*(?:- )?[^\s#][^:#]*:\s+[^\s#]/.test(l) ? { line: n + 1, column: indentOf(l) + 1 } : undefined;
  }
  return undefined;
}

function indentOf(line: string): number {
  return line.length - line.trimStart().length;
}
