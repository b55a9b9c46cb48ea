// Loaded with `node --import`: appends every module the process loads to the file named by
// MLCTL_TRACE_IMPORTS (ES modules by URL, CommonJS ones by resolved path), so a test can prove
// what start-up does not load. The CLI runs from a CommonJS bundle that loads packages with
// require() as well as import(), so both loaders are watched.
import { appendFileSync } from 'node:fs';
import Module, { register } from 'node:module';

const hooks = `
import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  if (process.env.MLCTL_TRACE_IMPORTS) appendFileSync(process.env.MLCTL_TRACE_IMPORTS, url + '\\n');
  return next(url, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);

// Module._load is CommonJS's internal entry point; a test helper may lean on it.
const load = Module._load;
Module._load = function tracedLoad(request, parent, isMain) {
  if (process.env.MLCTL_TRACE_IMPORTS) {
    let resolved = request;
    try {
      resolved = Module._resolveFilename(request, parent, isMain);
    } catch {
      // unresolvable: load() will throw the real error
    }
    appendFileSync(process.env.MLCTL_TRACE_IMPORTS, `${resolved}\n`);
  }
  return load.apply(this, arguments);
};
