/**
 * The daemon's routes in one table, as Hono registers named handlers. The table follows
 * the served model's task: /predict_income exists only for the income task.
 */
import type { Route } from './serve-context.js';
import type { ServedModel } from './served-model.js';
import { invocationsRoute, predictRoute } from './routes/predict-routes.js';
import { predictIncomeRoute, servesPredictIncome } from './routes/predict-income-route.js';
import { healthRoute, readyRoute, versionRoute } from './routes/probe-routes.js';
import { docsRoute, metricsRoute, modelsRoute, openApiRoute } from './routes/model-routes.js';
import { addUserRoute, deleteUserRoute, getUserRoute, listUsersRoute, updateUserRoute } from './routes/user-routes.js';

const health: Route = { name: 'health', public: true, protocol: 'mlctl', methods: { GET: healthRoute } };
const ready: Route = { name: 'ready', public: true, protocol: 'mlctl', methods: { GET: readyRoute } };

const COMMON: readonly (readonly [string, Route])[] = [
  ['/predict', { name: 'predict', public: false, protocol: 'mlctl', methods: { POST: predictRoute } }],
  ['/invocations', { name: 'invocations', public: false, protocol: 'mlflow', methods: { POST: invocationsRoute } }],
  ['/health', health],
  ['/healthz', health],
  ['/livez', health],
  ['/ping', { name: 'ping', public: true, protocol: 'mlctl', methods: { GET: healthRoute } }],
  ['/ready', ready],
  ['/readyz', ready],
  ['/version', { name: 'version', public: false, protocol: 'mlctl', methods: { GET: versionRoute } }],
  ['/metrics', { name: 'metrics', public: false, protocol: 'mlctl', methods: { GET: metricsRoute } }],
  ['/models', { name: 'models', public: false, protocol: 'mlctl', methods: { GET: modelsRoute } }],
  ['/openapi.json', { name: 'openapi', public: false, protocol: 'mlctl', methods: { GET: openApiRoute } }],
  ['/docs', { name: 'docs', public: false, protocol: 'mlctl', methods: { GET: docsRoute } }],
  ['/users', { name: 'users', public: false, protocol: 'mlctl', methods: { GET: listUsersRoute, POST: addUserRoute } }],
];

const PREDICT_INCOME: Route = { name: 'predict_income', public: false, protocol: 'mlctl', methods: { POST: predictIncomeRoute } };

/** /users/<id> */
export const USER_ROUTE: Route = {
  name: 'users_id',
  public: false,
  protocol: 'mlctl',
  methods: { GET: getUserRoute, PATCH: updateUserRoute, PUT: updateUserRoute, DELETE: deleteUserRoute },
};

/** Any other path: 404 (after the token check, so an unauthenticated caller learns nothing). */
export const NOT_FOUND_ROUTE: Route = { name: 'other', public: false, protocol: 'mlctl', methods: {} };

/** The routes for a served model, by path. */
export function routeTable(model: ServedModel): ReadonlyMap<string, Route> {
  const table = new Map<string, Route>(COMMON);
  if (servesPredictIncome(model)) table.set('/predict_income', PREDICT_INCOME);
  return table;
}
