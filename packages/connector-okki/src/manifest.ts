import { loadManifestFile, type ConnectorManifest } from '@qiao/core';

/** Where the manifest lives: the package root, one level above both `src/` and `dist/`. */
export const manifestUrl = new URL('../manifest.json', import.meta.url);

/** The connector's manifest (`manifest.json`), validated against core's meta-schema at load. */
export const manifest: ConnectorManifest = loadManifestFile(manifestUrl);
