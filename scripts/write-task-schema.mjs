// Writes schemas/task.schema.json from src/core/tasks/task-schema.ts (via tsc's dist/), the
// one source of the task-file schema. test/unit/tasks/task-schema.test.ts fails when the file
// is stale: run `npm run schema` after changing the schema or the task types.
import { writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const { TASK_FILE_SCHEMA } = await import(join(ROOT, 'dist', 'core', 'tasks', 'task-schema.js'));
writeFileSync(join(ROOT, 'schemas', 'task.schema.json'), `${JSON.stringify(TASK_FILE_SCHEMA, null, 2)}\n`);
console.log('wrote schemas/task.schema.json');
