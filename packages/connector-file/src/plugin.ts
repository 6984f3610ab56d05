import { dirname } from 'node:path';
import type { DependencyContainer } from 'tsyringe';
import { ConnectionCheckToken, ConnectionToken, sourceToken, targetToken, type BindContext, type ConnectionContext, type ConnectorPlugin } from '@qiao/core';
import { FileAppendTarget } from './file-append.operation.js';
import { readConnection } from './file-connection.js';
import { FileSource } from './file.stream.js';
import { manifest } from './manifest.js';

/** Registers the stream, the operation and the check, with paths taken from `baseDir`. */
export function registerIn(container: DependencyContainer, baseDir: string): void {
  const conn = (c: DependencyContainer) => readConnection(c.resolve<ConnectionContext>(ConnectionToken).config, baseDir);
  container.register(sourceToken('records'), { useFactory: (c) => new FileSource(conn(c)) });
  let target: FileAppendTarget | undefined;
  container.register(targetToken('records.append'), { useFactory: (c) => (target ??= new FileAppendTarget(conn(c))) });
  container.register(ConnectionCheckToken, {
    useFactory: (c) => ({
      check: () => Promise.resolve(`file ${conn(c).path}`),
    }),
  });
}

/** The `file` connector; bound to a scheme, relative paths are taken from the scheme's folder. */
export const plugin: ConnectorPlugin = {
  manifest,
  register: (container) => registerIn(container, process.cwd()),
  bind: (_connection: Record<string, unknown>, context: BindContext): ConnectorPlugin => ({
    manifest,
    register: (container) => registerIn(container, dirname(context.file)),
  }),
};
