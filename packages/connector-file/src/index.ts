import 'reflect-metadata';
import { plugin } from './plugin.js';

export { plugin, registerIn } from './plugin.js';
export { manifest } from './manifest.js';
export { FileSource } from './file.stream.js';
export { FileAppendTarget, commitLogOf } from './file-append.operation.js';
export { readConnection, type FileConnection } from './file-connection.js';
export { formatOf, flatten, type FileFormat } from './formats.js';

export default plugin;
