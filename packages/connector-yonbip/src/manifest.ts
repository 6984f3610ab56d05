import { loadManifestFile, type ConnectorManifest } from '@qiao/core';

/** The connector's manifest (API assets), read from the package root and validated; works from src/ and dist/. */
export const manifest: ConnectorManifest = loadManifestFile(new URL('../manifest.json', import.meta.url));
