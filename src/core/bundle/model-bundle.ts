import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { basename, dirname, join, relative, sep } from 'node:path';
import { GateError, NotFoundError, UsageError } from '../errors.js';
import { syncDirectory } from '../fs/atomic.js';
import { sha256 } from '../fs/hash.js';
import type { FittedPipeline } from '../features/pipeline-spec.js';
import type { ModelFiles } from '../models/model-family.js';
import { serializeProfile, type ReferenceProfile } from '../monitoring/reference-profile.js';
import { BUNDLE_FORMAT_VERSION, BUNDLE_KIND, MANIFEST_FILE, MODEL_DIR, PIPELINE_FILE, PROFILE_FILE, type BundleManifest } from './bundle-manifest.js';

export interface BundleContents {
  readonly manifest: Omit<BundleManifest, 'files' | 'kind' | 'formatVersion'>;
  readonly pipeline: FittedPipeline;
  readonly modelFiles: ModelFiles;
  /** The training data's reference profile, written as profile.json. */
  readonly profile?: ReferenceProfile;
}

/**
 * Writes a bundle into `dir`, which must not exist: files go to a temporary sibling folder
 * that is renamed into place at the end, so a crash never leaves a half-written bundle.
 */
export async function writeBundle(dir: string, contents: BundleContents): Promise<BundleManifest> {
  const files = new Map<string, Uint8Array>();
  files.set(PIPELINE_FILE, new TextEncoder().encode(`${JSON.stringify(contents.pipeline, null, 2)}\n`));
  if (contents.profile !== undefined) files.set(PROFILE_FILE, new TextEncoder().encode(serializeProfile(contents.profile)));
  for (const [path, data] of contents.modelFiles) files.set(`${MODEL_DIR}/${path}`, data);
  const manifest: BundleManifest = {
    kind: BUNDLE_KIND,
    formatVersion: BUNDLE_FORMAT_VERSION,
    ...contents.manifest,
    files: Object.fromEntries([...files].map(([path, data]) => [path, sha256(data)]).sort(([a], [b]) => ((a as string) < (b as string) ? -1 : 1))),
  };
  await mkdir(dirname(dir), { recursive: true });
  const tmp = join(dirname(dir), `.${basename(dir)}.${randomBytes(4).toString('hex')}.tmp`);
  try {
    for (const [path, data] of files) {
      await mkdir(dirname(join(tmp, path)), { recursive: true });
      await writeFile(join(tmp, path), data);
    }
    await writeFile(join(tmp, MANIFEST_FILE), `${JSON.stringify(manifest, null, 2)}\n`);
    await rename(tmp, dir);
    await syncDirectory(dirname(dir));
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw error;
  }
  return manifest;
}

export interface LoadedBundle {
  readonly dir: string;
  readonly manifest: BundleManifest;
  /** File contents by bundle-relative path, already verified. */
  readonly files: ReadonlyMap<string, Uint8Array>;
  /** The model's own files, keyed relative to model/. */
  readonly modelFiles: ModelFiles;
  readonly pipelineJson: unknown;
  /** profile.json parsed, or null for a bundle written before profiles. */
  readonly profileJson: unknown;
}

async function listFiles(root: string, dir = root): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(root, full)));
    else out.push(relative(root, full).split(sep).join('/'));
  }
  return out;
}

/** Reads a bundle and verifies every file against the manifest's SHA-256; refuses a tampered one. */
export async function loadBundle(dir: string): Promise<LoadedBundle> {
  let manifestText: string;
  try {
    manifestText = await readFile(join(dir, MANIFEST_FILE), 'utf8');
  } catch {
    const exists = await stat(dir).then(() => true, () => false);
    if (!exists) throw new NotFoundError('BUNDLE_NOT_FOUND', `no model bundle at ${dir}`);
    throw new UsageError('BUNDLE_INVALID', `${dir} is not a model bundle: it has no ${MANIFEST_FILE}`);
  }
  let manifest: BundleManifest;
  try {
    manifest = JSON.parse(manifestText) as BundleManifest;
  } catch (error) {
    throw new GateError('BUNDLE_TAMPERED', `${join(dir, MANIFEST_FILE)} is not valid JSON (${(error as Error).message}); the bundle is damaged`);
  }
  if (manifest.kind !== BUNDLE_KIND || typeof manifest.files !== 'object' || manifest.files === null) {
    throw new UsageError('BUNDLE_INVALID', `${join(dir, MANIFEST_FILE)} is not an mlctl bundle manifest`);
  }
  if (manifest.formatVersion !== BUNDLE_FORMAT_VERSION) {
    throw new UsageError('BUNDLE_VERSION_UNSUPPORTED', `bundle format ${String(manifest.formatVersion)} is not supported by this mlctl (reads ${BUNDLE_FORMAT_VERSION})`, {
      hint: 'upgrade mlctl',
    });
  }
  const problems: string[] = [];
  const files = new Map<string, Uint8Array>();
  for (const [path, expected] of Object.entries(manifest.files)) {
    if (path.includes('..') || path.startsWith('/')) {
      problems.push(`${path}: path escapes the bundle`);
      continue;
    }
    let data: Uint8Array;
    try {
      data = await readFile(join(dir, path));
    } catch {
      problems.push(`${path}: missing`);
      continue;
    }
    const actual = sha256(data);
    if (actual !== expected) problems.push(`${path}: SHA-256 is ${actual}, the manifest says ${expected}`);
    files.set(path, data);
  }
  for (const path of await listFiles(dir)) {
    if (path !== MANIFEST_FILE && !(path in manifest.files)) problems.push(`${path}: not listed in the manifest`);
  }
  if (problems.length > 0) {
    throw new GateError('BUNDLE_TAMPERED', `the model bundle at ${dir} does not match its manifest and was refused`, {
      problems,
      hint: 'retrain or re-download the model; never edit a bundle by hand',
    });
  }
  const modelFiles = new Map<string, Uint8Array>();
  for (const [path, data] of files) if (path.startsWith(`${MODEL_DIR}/`)) modelFiles.set(path.slice(MODEL_DIR.length + 1), data);
  const pipelineBytes = files.get(PIPELINE_FILE);
  if (pipelineBytes === undefined) throw new UsageError('BUNDLE_INVALID', `the bundle at ${dir} has no ${PIPELINE_FILE}`);
  const profileBytes = files.get(PROFILE_FILE);
  return {
    dir,
    manifest,
    files,
    modelFiles,
    pipelineJson: JSON.parse(new TextDecoder().decode(pipelineBytes)),
    profileJson: profileBytes === undefined ? null : JSON.parse(new TextDecoder().decode(profileBytes)),
  };
}
