/** GET /models, /openapi.json, /docs and /metrics: what is served, and how it is doing. */
import { METRICS_CONTENT_TYPE } from '../metrics-registry.js';
import { buildOpenApi } from '../openapi.js';
import { renderDocsPage } from '../docs-page.js';
import { json, type Exchange, type ServeResponse } from '../serve-context.js';
import type { ServedModel } from '../served-model.js';
import { servesPredictIncome } from './predict-income-route.js';

function modelSummary(model: ServedModel): Record<string, unknown> {
  return {
    name: model.name,
    version: model.version,
    runId: model.runId,
    task: model.manifest.task.name,
    problemType: model.manifest.problemType,
    family: model.manifest.modelFamily,
    scorer: model.scorer.kind,
    bundleSha256: model.bundleSha256,
    bundleDir: model.bundleDir,
    source: model.source,
    createdAt: model.manifest.createdAt,
    loadedAt: model.loadedAt.toISOString(),
    metrics: model.manifest.metrics,
    output: model.manifest.output,
  };
}

/** GET /models */
export function modelsRoute(c: Exchange): ServeResponse {
  return json(200, { models: [modelSummary(c.app.holder.current)] });
}

function openApiOf(c: Exchange, model: ServedModel): Record<string, unknown> {
  const state = c.app.modelState(model);
  state.openApi ??= buildOpenApi({
    model,
    mlctlVersion: c.app.mlctlVersion,
    authRequired: c.app.authRequired,
    usersAvailable: c.app.users !== undefined,
    predictIncome: servesPredictIncome(model),
  });
  return state.openApi;
}

/** GET /openapi.json */
export function openApiRoute(c: Exchange): ServeResponse {
  return json(200, openApiOf(c, c.app.holder.current));
}

/** GET /docs */
export function docsRoute(c: Exchange): ServeResponse {
  const model = c.app.holder.current;
  const state = c.app.modelState(model);
  state.docs ??= renderDocsPage(openApiOf(c, model));
  return { status: 200, contentType: 'text/html; charset=utf-8', body: state.docs };
}

/** GET /metrics: Prometheus text; with --workers, every worker's figures summed. */
export async function metricsRoute(c: Exchange): Promise<ServeResponse> {
  const text = c.app.renderMetrics();
  return { status: 200, contentType: METRICS_CONTENT_TYPE, body: typeof text === 'string' ? text : await text };
}
