// Loaded with `node --import`: appends every module URL the process loads to the file named
// by MLCTL_TRACE_IMPORTS, so a test can prove what start-up does not import.
import { register } from 'node:module';

const hooks = `
import { appendFileSync } from 'node:fs';
export async function load(url, context, next) {
  if (process.env.MLCTL_TRACE_IMPORTS) appendFileSync(process.env.MLCTL_TRACE_IMPORTS, url + '\\n');
  return next(url, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
