import 'reflect-metadata';
import { plugin } from './plugin.js';

export { bind, manifest, manifestPath, plugin, restPlugin, RestClientToken, toConnectorManifest, diagnosesFor } from './plugin.js';
export { loadRestManifest, parseRestManifest, checkRestManifest } from './manifest/load-rest-manifest.js';
export { restManifestSchema, AUTH_KINDS, PAGINATION_KINDS } from './manifest/rest-manifest.schema.js';
export type * from './manifest/rest-manifest-types.js';
export { RestClient, classifier, NOT_FOUND } from './transport/rest-client.js';
export { RestStreamSource, DETAIL_GONE, linkOf } from './streams/rest.stream.js';
export { RestWriteTarget } from './operations/rest-write.operation.js';
export { compileNormalizer, toId, toIdList, toPair } from './normalize.js';
export { formatTime, parseTime, offsetOf, durationMs } from './time.js';
export { compilePath, jsonPathProblem } from './json-path.js';

export default plugin;
export { scaffoldRestConnector, type ScaffoldOptions, type ScaffoldResult } from './scaffold.js';
