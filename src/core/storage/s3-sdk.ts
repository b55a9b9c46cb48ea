import { createRequire } from 'node:module';

/** The AWS SDK's S3 module, as its types describe it. */
export type S3Sdk = typeof import('@aws-sdk/client-s3');

/**
 * The S3 SDK, loaded with `require`. An ESM `import` of this CommonJS package makes Node
 * lex its 270 KB entry (and re-exports) for named exports first: about 0.1-0.2 s of CPU in
 * every process that touches S3, a tenth of the "unchanged push under 2 s" budget.
 * Only modules already loaded lazily (by commands that use S3) import this one.
 */
export const s3Sdk: S3Sdk = createRequire(import.meta.url)('@aws-sdk/client-s3') as S3Sdk;
