/**
 * The task-file schema is published (schemas/task.schema.json) and mlctl validates with it,
 * while the code reads TaskFile / TaskSpec. These tests fail when the three drift apart: the
 * file against the TypeScript object it is written from, and the schema's keys against the
 * properties of the TypeScript types, read with the TypeScript compiler.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { allMetricNames, METRICS_BY_PROBLEM_TYPE } from '../../../src/core/bundle/output-meaning.js';
import { BUILTIN_TASKS } from '../../../src/core/tasks/builtin-tasks.js';
import { checkTaskFile } from '../../../src/core/tasks/task-registry.js';
import { TASK_FILE_SCHEMA } from '../../../src/core/tasks/task-schema.js';
import { REPO_ROOT } from '../../helpers/cli.js';

type Json = Record<string, any>;
const schema = TASK_FILE_SCHEMA as unknown as Json;

const TYPE_FILES = ['src/core/tasks/task-spec.ts', 'src/core/features/pipeline-spec.ts'].map((file) => join(REPO_ROOT, file));
let program: ts.Program | undefined;

/** Property names of a type (or of each member of a union) declared in `file`, by the compiler. */
function typeProperties(file: string, name: string): string[][] {
  program ??= ts.createProgram(TYPE_FILES, { strict: true, module: ts.ModuleKind.NodeNext, moduleResolution: ts.ModuleResolutionKind.NodeNext, noEmit: true, skipLibCheck: true });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(join(REPO_ROOT, file))!;
  const declaration = source.statements.find(
    (s): s is ts.InterfaceDeclaration | ts.TypeAliasDeclaration => (ts.isInterfaceDeclaration(s) || ts.isTypeAliasDeclaration(s)) && s.name.text === name,
  );
  if (declaration === undefined) throw new Error(`${name} not found in ${file}`);
  const type = checker.getTypeAtLocation(declaration.name);
  const members = type.isUnion() ? type.types : [type];
  return members.map((member) => checker.getPropertiesOfType(member).map((p) => p.name).sort());
}

const keys = (object: Json): string[] => Object.keys(object).sort();

describe('schemas/task.schema.json', () => {
  it('is exactly what src/core/tasks/task-schema.ts says (run `npm run schema` after changing it)', () => {
    const published = JSON.parse(readFileSync(join(REPO_ROOT, 'schemas', 'task.schema.json'), 'utf8'));
    expect(published).toEqual(JSON.parse(JSON.stringify(TASK_FILE_SCHEMA)));
  });

  it('has one property per key of the TaskFile type, and every TaskSpec key is one of them', () => {
    const [fileKeys] = typeProperties('src/core/tasks/task-spec.ts', 'TaskFile');
    expect(keys(schema.properties)).toEqual(fileKeys);
    const [specKeys] = typeProperties('src/core/tasks/task-spec.ts', 'TaskSpec');
    for (const key of specKeys!) expect(keys(schema.properties)).toContain(key);
  });

  it('describes the target, split, gate, model and monitoring sections as their types do', () => {
    expect(keys(schema.$defs.target.properties)).toEqual(typeProperties('src/core/tasks/task-spec.ts', 'TargetSpec')[0]);
    expect(keys(schema.$defs.split.properties)).toEqual(typeProperties('src/core/tasks/task-spec.ts', 'SplitSpec')[0]);
    expect(keys(schema.$defs.gate.properties)).toEqual(typeProperties('src/core/tasks/task-spec.ts', 'QualityGate')[0]);
    expect(keys(schema.$defs.model.properties)).toEqual(typeProperties('src/core/tasks/task-spec.ts', 'ModelSpec')[0]);
    expect(keys(schema.$defs.monitoring.properties)).toEqual(typeProperties('src/core/tasks/task-spec.ts', 'MonitoringSpec')[0]);
    expect(keys(schema.$defs.driftThreshold.properties)).toEqual(typeProperties('src/core/tasks/task-spec.ts', 'DriftThresholdOverride')[0]);
  });

  it('describes feature columns and every step kind as the pipeline spec types do', () => {
    expect(keys(schema.$defs.column.properties)).toEqual(typeProperties('src/core/features/pipeline-spec.ts', 'ColumnTransformSpec')[0]);
    const steps = typeProperties('src/core/features/pipeline-spec.ts', 'FeatureStep');
    const branches = (schema.$defs.step.oneOf as Json[]).map((b) => keys(b.properties));
    expect(branches.sort()).toEqual(steps.sort());
  });

  it('lets gates and metrics name exactly the metrics evaluations report', () => {
    expect([...schema.$defs.gate.properties.metric.enum].sort()).toEqual(allMetricNames().sort());
    expect([...schema.properties.metrics.items.enum].sort()).toEqual(allMetricNames().sort());
    expect(Object.keys(METRICS_BY_PROBLEM_TYPE).sort()).toEqual([...schema.properties.problemType.enum].sort());
  });

  it('accepts every built-in task as a task file', () => {
    for (const task of BUILTIN_TASKS) expect(checkTaskFile(JSON.parse(JSON.stringify(task)))).toEqual([]);
  });
});
