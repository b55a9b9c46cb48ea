/**
 * Probes, answered without a token: liveness (`/health`, `/healthz`, `/livez`, MLflow's
 * `/ping`: 200 while a model is loaded, which it is from the moment the daemon listens),
 * readiness (`/ready`, `/readyz`: 503 while SIGTERM drains, so a load balancer stops
 * sending), and `/version`.
 */
import { json, type Exchange, type ServeResponse } from '../serve-context.js';

/** GET /health, /healthz, /livez, /ping */
export function healthRoute(c: Exchange): ServeResponse {
  const model = c.app.holder.current;
  return json(200, { status: 'ok', model: { name: model.name, version: model.version } });
}

/** GET /ready, /readyz */
export function readyRoute(c: Exchange): ServeResponse {
  if (c.app.draining) return json(503, { status: 'draining' });
  const model = c.app.holder.current;
  return json(200, { status: 'ready', model: { name: model.name, version: model.version } });
}

/** GET /version: mlctl's version (MLflow's scoring server answers its own there). */
export function versionRoute(c: Exchange): ServeResponse {
  return json(200, { version: c.app.mlctlVersion });
}
