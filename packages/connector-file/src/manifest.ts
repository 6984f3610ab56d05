import { loadManifest, type ConnectorManifest } from '@qiao/core';

/** The file connector's manifest: one stream (`records`) and one operation (`records.append`). */
export const manifest: ConnectorManifest = loadManifest(
  {
    id: 'file',
    name: 'JSONL / CSV files',
    version: '0.1.0',
    description:
      'JSON-lines and CSV files: a source (one file or a folder of them, incremental by a column or by file modification time) and a target that appends crash-safely (write, fsync, commit log) and never appends a re-delivered record twice. For exports, imports and trying a mapping on a sample before touching a live system.',
    connection: {
      type: 'object',
      additionalProperties: false,
      required: ['path'],
      properties: {
        path: {
          title: '文件或文件夹',
          description: 'A file, or (source only) a folder whose .jsonl / .csv files are read in name order. Relative to the scheme file.',
          type: 'string',
          minLength: 1,
        },
        format: { title: '格式', description: 'jsonl or csv; by default taken from the file extension.', enum: ['jsonl', 'csv'] },
        primaryKey: { title: '主键列', description: 'Source: the field or column that identifies a record.', type: 'string', default: 'id' },
        cursorField: {
          title: '增量列',
          description: 'Source: read incrementally by this field (ISO dates or values that sort as text); without it, by file modification time.',
          type: 'string',
        },
        delimiter: { title: '分隔符', description: 'CSV field delimiter.', type: 'string', minLength: 1, maxLength: 1, default: ',' },
        columns: {
          title: '列',
          description: 'Target CSV: the columns, in order (nested fields as a.b). By default those of the first records written.',
          type: 'array',
          items: { type: 'string' },
        },
      },
    },
    limits: { concurrency: 4 },
    streams: [
      {
        id: 'records',
        label: '文件记录',
        description: 'Every record of the file(s). Incremental: rows whose cursorField is at or after the cursor minus the look-back, or the files modified since.',
        api: '/file',
        method: 'GET',
        params: { type: 'object', additionalProperties: false, properties: {} },
        primaryKey: 'id',
        cursor: { field: 'cursorField, or the file modification time', format: 'as in the file (ISO 8601 for modification times)' },
        record: { type: 'object' },
      },
    ],
    operations: [
      {
        id: 'records.append',
        label: '追加写入',
        description:
          'Appends each record as a JSON line or CSV row. Crash-safe: rows are written and fsynced, then their keys are committed to <file>.qiao-log; an uncommitted tail is cut off when the file is opened again, and a record already committed is not appended again when it is re-delivered.',
        api: '/file',
        method: 'POST',
        input: { type: 'object' },
        batch: { maxSize: 500 },
      },
    ],
  },
  'connector-file manifest',
);
