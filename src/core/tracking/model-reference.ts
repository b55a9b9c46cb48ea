import { stat } from 'node:fs/promises';
import { isAbsolute, join, resolve } from 'node:path';
import { NotFoundError, UsageError } from '../errors.js';
import { validateAlias, validateModelName } from '../registry/file-model-registry.js';
import type { VersionSelector } from '../registry/model-registry.js';
import type { TrackingStore } from './tracking-store.js';

/** A model reference resolved to a bundle directory on this machine. */
export interface ResolvedModel {
  readonly bundleDir: string;
  readonly source: {
    readonly kind: 'run' | 'registry' | 'path' | 's3';
    readonly runId?: string;
    readonly name?: string;
    readonly version?: number;
    readonly alias?: string;
    readonly uri?: string;
  };
}

/** What resolving needs of the tracking store: runs, their bundles, and the registry. */
export type ModelSource = Pick<TrackingStore, 'getRun' | 'fetchBundle' | 'registry' | 'location'>;

export interface ResolveModelOptions {
  /**
   * The tracking store, asked for only when the reference names a run or a registered model
   * (a bundle path or an s3:// prefix opens no store).
   */
  readonly tracking: () => Promise<ModelSource>;
  /** Relative bundle paths are taken from here. */
  readonly cwd: string;
  /**
   * Downloads a bundle folder at a remote location (`s3://bucket/prefix`) and returns the
   * local directory holding it (the command supplies it through the artifact-store seam).
   */
  readonly fetchRemote?: (uri: string) => Promise<string>;
}

/** What a reference means, before touching the store. */
export type ParsedModelReference =
  | { readonly kind: 's3'; readonly uri: string }
  /** A run id, id prefix or run name: the run store's resolver decides (FileRunStore.locateRun). */
  | { readonly kind: 'run'; readonly run: string }
  | { readonly kind: 'registry'; readonly name: string; readonly selector: VersionSelector }
  | { readonly kind: 'path'; readonly path: string };

const FORMS = 'a run id or name (or runs:/<id>), name@alias, name/<version>, models:/name@alias, models:/name/<version>, a bundle directory (./path) or s3://bucket/prefix';

function invalid(ref: string, why: string): UsageError {
  return new UsageError('INVALID_MODEL_REFERENCE', `model reference "${ref}" ${why}`, { hint: `a model is ${FORMS}` });
}

/**
 * Parses a reference syntactically. `looksLikeDirectory` says whether a bare relative
 * reference names an existing directory: DESIGN.md takes such a reference as a path.
 */
export function parseModelReference(ref: string, looksLikeDirectory: (ref: string) => boolean = () => false): ParsedModelReference {
  const trimmed = ref.trim();
  if (trimmed === '') throw invalid(ref, 'is empty');
  if (trimmed.startsWith('s3://')) {
    if (trimmed.length <= 5) throw invalid(ref, 'names no bucket');
    return { kind: 's3', uri: trimmed };
  }
  if (trimmed.startsWith('runs:/')) {
    const run = trimmed.slice('runs:/'.length).replace(/\/(artifacts\/)?model\/?$/, '');
    if (run === '' || run.includes('/') || run.includes('\\') || run.startsWith('.')) throw invalid(ref, 'does not hold a run id or name after runs:/');
    return { kind: 'run', run };
  }
  if (trimmed.startsWith('models:/')) return parseRegistryReference(ref, trimmed.slice('models:/'.length), true);
  if (isPathLike(trimmed) || looksLikeDirectory(trimmed)) return { kind: 'path', path: trimmed };
  if (trimmed.includes('@') || /^[^/]+\/\d+$/.test(trimmed)) return parseRegistryReference(ref, trimmed, false);
  if (trimmed.includes('/') || trimmed.includes('\\') || trimmed.includes('..')) {
    throw invalid(ref, 'is neither a registered model (name@alias, name/<version>) nor an existing directory; prefix a relative path with ./');
  }
  return { kind: 'run', run: trimmed };
}

function isPathLike(ref: string): boolean {
  return ref.startsWith('./') || ref.startsWith('../') || ref === '.' || ref === '..' || isAbsolute(ref) || /^[A-Za-z]:[\\/]/.test(ref) || ref.startsWith('.\\');
}

function parseRegistryReference(ref: string, body: string, explicit: boolean): ParsedModelReference {
  const at = body.indexOf('@');
  if (at >= 0) {
    const name = body.slice(0, at);
    const alias = body.slice(at + 1);
    try {
      return { kind: 'registry', name: validateModelName(name), selector: { alias: validateAlias(alias) } };
    } catch (error) {
      throw invalid(ref, `is not name@alias: ${(error as Error).message}`);
    }
  }
  const match = /^([^/]+)\/(\d+)$/.exec(body);
  if (match === null) {
    throw invalid(ref, explicit ? 'must be models:/<name>@<alias> or models:/<name>/<version>' : 'is not name@alias or name/<version>');
  }
  try {
    return { kind: 'registry', name: validateModelName(match[1]!), selector: { version: Number(match[2]) } };
  } catch (error) {
    throw invalid(ref, (error as Error).message);
  }
}

/**
 * DESIGN.md's one resolver: every command that takes a model calls this and gets a bundle
 * directory. It checks that the directory holds a manifest.json; verifying the bundle's
 * file hashes is the bundle loader's job.
 */
export async function resolveModelReference(ref: string, options: ResolveModelOptions): Promise<ResolvedModel> {
  const existingDirs = new Set<string>();
  // Only bare relative references need the directory probe; it is one stat.
  const trimmed = ref.trim();
  if (!trimmed.startsWith('s3://') && !trimmed.includes(':/') && !isPathLike(trimmed) && (await isDirectory(resolve(options.cwd, trimmed)))) {
    existingDirs.add(trimmed);
  }
  const parsed = parseModelReference(ref, (r) => existingDirs.has(r));
  switch (parsed.kind) {
    case 's3': {
      if (options.fetchRemote === undefined) {
        throw new UsageError('S3_NOT_CONFIGURED', `cannot load ${parsed.uri}: S3 is not configured for this command`, {
          hint: 'set MLCTL_S3_BUCKET / AWS_ENDPOINT_URL, or copy the bundle locally with `mlctl sync pull` and pass its path',
        });
      }
      const dir = await options.fetchRemote(parsed.uri);
      await assertBundle(dir, ref);
      return { bundleDir: dir, source: { kind: 's3', uri: parsed.uri } };
    }
    case 'path': {
      const dir = resolve(options.cwd, parsed.path);
      if (!(await isDirectory(dir))) {
        // Exit 2, not 3: a path is input the user typed, and it must not probe outside the store.
        throw new UsageError('BUNDLE_PATH_NOT_FOUND', `no bundle directory at ${dir}`, { hint: `a model is ${FORMS}` });
      }
      await assertBundle(dir, ref);
      return { bundleDir: dir, source: { kind: 'path', uri: dir } };
    }
    case 'run': {
      const store = await options.tracking();
      let run;
      try {
        run = await store.getRun(parsed.run);
      } catch (error) {
        if (!(error instanceof NotFoundError) || error.code !== 'RUN_NOT_FOUND') throw error;
        throw new NotFoundError('RUN_NOT_FOUND', `"${ref}" is not a run id or name, a registered model version or a bundle directory`, {
          hint: `a model is ${FORMS}; a registered model needs @alias or /<version>, e.g. ${parsed.run}@production`,
        });
      }
      return { bundleDir: await store.fetchBundle(run.info.id), source: { kind: 'run', runId: run.info.id } };
    }
    case 'registry': {
      const store = await options.tracking();
      const version = await store.registry.resolve(parsed.name, parsed.selector);
      let bundleDir: string;
      try {
        bundleDir = await store.fetchBundle(version.runId, { expectedManifestSha256: version.manifestSha256 });
      } catch (error) {
        if (error instanceof NotFoundError && error.code === 'RUN_NOT_FOUND') {
          throw new NotFoundError('MODEL_RUN_MISSING', `${parsed.name} version ${version.version} points at run ${version.runId}, which is no longer in ${store.location}`, {
            hint: 'bring the run back (`mlctl sync pull`, or `mlctl tracking import ./runs` from where it is) or register another version',
          });
        }
        throw error;
      }
      return {
        bundleDir,
        source: {
          kind: 'registry',
          runId: version.runId,
          name: parsed.name,
          version: version.version,
          ...('alias' in parsed.selector ? { alias: parsed.selector.alias } : {}),
        },
      };
    }
  }
}

async function assertBundle(dir: string, ref: string): Promise<void> {
  if (!(await isFile(join(dir, 'manifest.json')))) {
    throw new UsageError('NOT_A_BUNDLE', `${dir} is not a model bundle: it holds no manifest.json`, {
      hint: `"${ref}" was taken as a directory; a model is ${FORMS}`,
    });
  }
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}
