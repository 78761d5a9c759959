/**
 * `deno task validate`: the repository's structural checks.
 *
 * 1. **boundaries** — nothing under `src/` imports from `ai/`; workflow code
 *    imports values only from `@temporalio/workflow` and other workflow files,
 *    and never touches `Deno`.
 * 2. **migrations** — `migrations/` holds `NNNN_snake_case.sql` files numbered
 *    from 0001 without gaps or repeats.
 * 3. **schema** — the migrations, applied to a scratch database, produce
 *    exactly the columns the models in `TABLES` describe.
 * 4. **json-schema** — `docs/schemas/directive.schema.json` is the JSON Schema
 *    generated from the zod directive contract now (`deno task schemas`).
 * 5. **contract** — the field table of `ai/runtime/contracts/directive.md`
 *    lists exactly the zod contract's fields.
 * 6. **examples** — every directive under `examples/directives/` parses (JSON
 *    or YAML) and passes the contract over the registered module types; each
 *    one `examples/expected_verdicts.yaml` lists gets that verdict from
 *    `policies/default.json` ({@linkcode checkExampleVerdicts}).
 * 7. **module-permissions** — every net host, read/write path and env name a
 *    module in `BUILTIN_MODULES` declares is held by the `worker` permission
 *    set of `deno.json`, which the module's sandbox cannot exceed.
 * 8. **env** — `.env.example` and `docs/configuration.md` are what
 *    `deno task env:example` generates from the sections in `src/config/`, and
 *    the variable tables of other docs name only declared variables
 *    ({@linkcode checkEnvDocs}); skipped when the root has no `.env.example`.
 *
 * Each check is a pure function over its inputs ({@linkcode checkBoundaries},
 * {@linkcode checkMigrationEntries}, {@linkcode compareCatalog},
 * {@linkcode checkJsonSchemaFreshness}, {@linkcode checkContractFields},
 * {@linkcode checkDirectiveExamples}, {@linkcode checkModulePermissions}) with a thin
 * I/O wrapper; {@linkcode validate} runs them all against a directory.
 *
 * @module
 */
import { posix } from "node:path";
import type { ExecutionModule } from "../execution/module.ts";
import { BUILTIN_MODULES, createRegistry } from "../execution/registry.ts";
import { createDirectiveSchema } from "../models/directive.ts";
import { DIRECTIVE_SCHEMA_PATH, directiveJsonSchemaText } from "../models/directive_json_schema.ts";
import { type TableModel, TABLES } from "../models/mod.ts";
import { checkContractFields, CONTRACT_DOC_PATH, readContractDoc } from "./contract_fields.ts";
import { checkDirectiveExamples, EXAMPLES_DIR, readExampleFiles } from "./directive_examples.ts";
import {
  checkExampleVerdicts,
  readDefaultPolicy,
  readExpectedVerdicts,
} from "./example_verdicts.ts";
import { checkJsonSchemaFreshness, readCommittedJsonSchema } from "./json_schema.ts";
import { checkEnvDocs, readDocFiles, readEnvDocs } from "./env_docs.ts";
import { EXAMPLE_SECTIONS } from "../config/mod.ts";
import { checkBoundaries } from "./boundaries.ts";
import { checkMigrationEntries, listMigrationEntries } from "./migration_names.ts";
import { locateModels } from "./model_locations.ts";
import {
  checkModulePermissions,
  readDeclaredModules,
  readDenoConfig,
  workerPermissionsOf,
} from "./module_permissions.ts";
import { checkSchemaDrift } from "./schema_drift.ts";
import { readImportMap, readSourceFiles } from "./source_files.ts";
import { type CheckResult, resultOf, ValidateError } from "./violation.ts";

export {
  type BoundaryOptions,
  type BoundaryReport,
  checkBoundaries,
  resolveSpecifier,
  type SourceFile,
} from "./boundaries.ts";
export {
  checkMigrationEntries,
  listMigrationEntries,
  type MigrationNamesReport,
} from "./migration_names.ts";
export { locateModels, type Location, type ModelLocator, TABLES_FILE } from "./model_locations.ts";
export {
  type CatalogRow,
  checkSchemaDrift,
  compareCatalog,
  readCatalog,
  type SchemaDriftOptions,
  type SchemaDriftReport,
} from "./schema_drift.ts";
export {
  checkContractFields,
  CONTRACT_DOC_PATH,
  type ContractFieldsReport,
  type ContractRow,
  readContractDoc,
} from "./contract_fields.ts";
export {
  checkDirectiveExamples,
  type DirectiveExamplesReport,
  type ExampleFile,
  EXAMPLES_DIR,
  readExampleFiles,
} from "./directive_examples.ts";
export {
  checkExampleVerdicts,
  DEFAULT_POLICY_PATH,
  EXPECTED_VERDICTS_PATH,
  ExpectedVerdict,
  parseExpectedVerdicts,
  readDefaultPolicy,
  readExpectedVerdicts,
} from "./example_verdicts.ts";
export { checkJsonSchemaFreshness, readCommittedJsonSchema } from "./json_schema.ts";
export {
  checkDocTables,
  checkEnvDocs,
  type DocFile,
  type EnvDocsReport,
  readDocFiles,
  readEnvDocs,
} from "./env_docs.ts";
export {
  checkModulePermissions,
  type ConfigFile,
  DECLARED_KINDS,
  type DeclaredKind,
  type DeclaredModule,
  type ModulePermissionsOptions,
  type ModulePermissionsReport,
  readDeclaredModules,
  readDenoConfig,
  WORKER_PERMISSION_SET,
  workerPermissionsOf,
} from "./module_permissions.ts";
export { findGlobalUses, findImports, type ImportRef, type Token, tokenize } from "./scan.ts";
export { readImportMap, readSourceFiles } from "./source_files.ts";
export {
  type CheckName,
  type CheckResult,
  formatViolation,
  ValidateError,
  type Violation,
} from "./violation.ts";

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? "" : "s"}`;
}

/** What {@linkcode validate} checks, and against what. */
export interface ValidateOptions {
  /** The repository root to check (holds `src/` and `migrations/`). */
  readonly root: string;
  /** Skip the schema check, which needs a Postgres server. */
  readonly skipDb?: boolean;
  /** The schema owner's URL; required unless `skipDb`. Only its server and credentials are used. */
  readonly databaseUrl?: string;
  /** The models to compare the schema with; defaults to {@linkcode TABLES}. */
  readonly tables?: Readonly<Record<string, TableModel>>;
  /** The registered module types for the directive contract; defaults to the built-in registry. */
  readonly moduleTypes?: readonly string[];
  /**
   * The folder of example directives, relative to the root; defaults to
   * `examples/directives` (which may be absent). A folder given here must exist.
   */
  readonly examplesDir?: string;
  /**
   * The modules whose declared permissions must lie within the worker's set;
   * defaults to {@linkcode BUILTIN_MODULES}.
   */
  readonly modules?: readonly ExecutionModule[];
}

/**
 * Runs the eight checks against `options.root` and returns one result per
 * check. Violations are results, not errors; throws {@linkcode ValidateError}
 * only when a check cannot run (unreadable tree, unusable database).
 */
export async function validate(options: ValidateOptions): Promise<CheckResult[]> {
  const root = options.root;
  const rootDir = posix.resolve(Deno.cwd(), root);
  const files = await readSourceFiles(root);
  const boundaries = checkBoundaries(files, { rootDir, importMap: await readImportMap(root) });
  const results: CheckResult[] = [
    resultOf(
      "boundaries",
      boundaries.violations,
      `${plural(boundaries.files, "file")} under src/ (${boundaries.workflowFiles} in ` +
        `src/workflows/), ${plural(boundaries.imports, "import")} checked: nothing imports ai/, ` +
        `workflow code is clean`,
    ),
  ];

  const names = checkMigrationEntries(await listMigrationEntries(posix.join(root, "migrations")));
  const last = names.entries.at(-1)?.slice(0, 4);
  results.push(resultOf(
    "migrations",
    names.violations,
    last === undefined
      ? "no migration files"
      : `${plural(names.entries.length, "file")}, 0001 to ${last}, named and numbered without gaps`,
  ));

  if (options.skipDb) {
    results.push({
      check: "schema",
      status: "skipped",
      summary: "skipped (--skip-db)",
      violations: [],
    });
  } else if (names.violations.length > 0) {
    results.push({
      check: "schema",
      status: "skipped",
      summary: "skipped: fix the migration file names first",
      violations: [],
    });
  } else {
    if (options.databaseUrl === undefined) {
      throw new ValidateError("The schema check needs a database URL (or skip it with --skip-db)");
    }
    const drift = await checkSchemaDrift({
      root,
      databaseUrl: options.databaseUrl,
      tables: options.tables ?? TABLES,
      locate: locateModels(files.filter((file) => file.path.startsWith("src/models/"))),
    });
    results.push(resultOf(
      "schema",
      drift.violations,
      `${plural(drift.migrations, "migration")} applied to a scratch database: ` +
        `${plural(drift.tables, "table")}, ${plural(drift.columns, "column")} match TABLES`,
    ));
  }

  results.push(...await checkDirectiveContract(options));
  results.push(await checkModules(options.modules ?? BUILTIN_MODULES, root, rootDir));
  results.push(await checkEnv(root));
  return results;
}

/** Check 8: `.env.example`, `docs/configuration.md` and the docs tables against src/config/. */
async function checkEnv(root: string): Promise<CheckResult> {
  const committed = await readEnvDocs(root);
  if (committed.envExample === undefined) {
    return { check: "env", status: "skipped", summary: "skipped: no .env.example", violations: [] };
  }
  const report = checkEnvDocs(committed, EXAMPLE_SECTIONS, await readDocFiles(root));
  return resultOf(
    "env",
    report.violations,
    `.env.example and docs/configuration.md match the ${plural(report.variables, "variable")} ` +
      `of src/config/; ${plural(report.rows, "row")} of other docs tables name declared variables`,
  );
}

/** Check 7: the modules' declared permissions against the worker's set in deno.json. */
async function checkModules(
  modules: readonly ExecutionModule[],
  root: string,
  rootDir: string,
): Promise<CheckResult> {
  const config = await readDenoConfig(root);
  if (config === undefined) {
    return {
      check: "module-permissions",
      status: "skipped",
      summary: "skipped: no deno.json",
      violations: [],
    };
  }
  const worker = workerPermissionsOf(config);
  if ("violation" in worker) {
    return resultOf("module-permissions", [worker.violation], "");
  }
  const report = checkModulePermissions(
    worker.worker,
    await readDeclaredModules(modules, rootDir),
    { root: rootDir, configPath: config.path, workerAt: worker.at },
  );
  return resultOf(
    "module-permissions",
    report.violations,
    `${plural(report.modules, "module")}, ${plural(report.declared, "declared permission")}, ` +
      `all within the worker's set in ${config.path}`,
  );
}

/** Checks 4 to 6: the committed JSON Schema, the written contract and the examples. */
async function checkDirectiveContract(options: ValidateOptions): Promise<CheckResult[]> {
  const root = options.root;
  const moduleTypes = [...(options.moduleTypes ?? createRegistry(BUILTIN_MODULES).types())].sort();
  const schema = createDirectiveSchema({ moduleTypes });
  const fields = Object.keys(schema.shape);
  const results: CheckResult[] = [];

  results.push(resultOf(
    "json-schema",
    checkJsonSchemaFreshness(
      await readCommittedJsonSchema(root),
      directiveJsonSchemaText(moduleTypes),
    ),
    `${DIRECTIVE_SCHEMA_PATH} matches the zod contract (${plural(fields.length, "field")}, ` +
      `type one of ${moduleTypes.join(", ")})`,
  ));

  const doc = await readContractDoc(root);
  const contract = doc === undefined
    ? {
      violations: [{ path: CONTRACT_DOC_PATH, message: "the contract document is missing" }],
      rows: [],
    }
    : checkContractFields(doc, fields);
  results.push(resultOf(
    "contract",
    contract.violations,
    `${CONTRACT_DOC_PATH} lists the ${plural(fields.length, "field")} of the zod contract`,
  ));

  const dir = posix.normalize(options.examplesDir ?? EXAMPLES_DIR).replace(/\/+$/, "");
  const examples = await readExampleFiles(root, dir);
  if (examples === undefined) {
    if (options.examplesDir !== undefined) {
      throw new ValidateError(`The examples folder "${posix.join(root, dir)}" does not exist`);
    }
    results.push({
      check: "examples",
      status: "skipped",
      summary: `skipped: no ${dir}/ folder`,
      violations: [],
    });
  } else {
    const report = checkDirectiveExamples(examples, schema);
    const expectations = await readExpectedVerdicts(root);
    const policy = expectations === undefined ? undefined : await readDefaultPolicy(root);
    const registry = createRegistry(options.modules ?? BUILTIN_MODULES);
    const verdicts = expectations === undefined || policy === undefined
      ? []
      : checkExampleVerdicts({
        files: examples,
        dir,
        expectations,
        policy,
        schema,
        moduleOf: (type) => registry.find(type),
      }).violations;
    results.push(resultOf(
      "examples",
      [...report.violations, ...verdicts],
      `${plural(report.files, "directive")} under ${dir}/ parse and pass the contract`,
    ));
  }
  return results;
}
