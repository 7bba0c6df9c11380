/**
 * Enforces the import boundaries of DESIGN.md's workspace table:
 *  (a) a workspace imports only the `@marquee/*` packages its row allows;
 *  (b) a package is entered through its package.json `exports` only (no deep imports);
 *  (c) a relative import never leaves its own workspace folder;
 *  (d) every `@marquee/*` a workspace imports is listed in its package.json, and nothing it
 *      may not import is listed there;
 *  (e) every external package a workspace imports is listed in its package.json: in
 *      `dependencies` (or peer/optional) when the code runs; `devDependencies` also do for
 *      type-only imports (`import type`, erased at build) and for dev files (tests, `test/`
 *      folders, `*.config.ts`), which may also use the root package.json's devDependencies
 *      (vitest and the other tools every workspace shares). Node's builtins need nothing;
 *  (f) nothing imports a workspace in TEST_ONLY (e2e/): it may import every workspace, so
 *      code that leaned on it would turn a test home into a second composition root.
 *
 * `npm run check:boundaries` prints each violation as `file:line: message` and exits 1.
 */
import fs from "node:fs";
import { builtinModules } from "node:module";
import path from "node:path";
import { fileURLToPath } from "node:url";
import ts from "typescript";

/** DESIGN.md's "may import" column, by folder. `"*"`: may import every workspace. */
export const ALLOWED_IMPORTS: Readonly<Record<string, readonly string[] | "*">> = {
  contracts: [],
  runtime: ["contracts"],
  commerce: ["contracts", "runtime"],
  media: ["contracts", "runtime", "commerce"],
  ingest: ["contracts", "runtime"],
  analytics: ["contracts", "runtime"],
  "feature-store": ["contracts", "runtime", "analytics"],
  training: ["contracts", "runtime", "feature-store", "seed"],
  serving: ["contracts", "runtime", "feature-store"],
  storefront: ["contracts", "runtime", "commerce", "media", "serving"],
  infra: [],
  seed: ["contracts"],
  bench: "*",
  cli: "*",
  e2e: "*",
};

/** Workspaces of tests only: they may import everything, and nothing may import them (rule f). */
export const TEST_ONLY: ReadonlySet<string> = new Set(["e2e"]);

const SCOPE = "@marquee/";
const SKIPPED_DIRS = new Set(["node_modules", "build", "dist"]);

export interface PackageJson {
  name?: string;
  exports?: unknown;
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  peerDependencies?: Record<string, string>;
  optionalDependencies?: Record<string, string>;
}

export interface WorkspaceInput {
  /** Folder name at the repository root, e.g. `feature-store`. */
  folder: string;
  packageJson: PackageJson;
  /** The package.json text, only to point violations at a line. */
  packageJsonText?: string;
}

export interface SourceFile {
  /** Path relative to the repository root, with `/` separators, e.g. `serving/src/app.ts`. */
  path: string;
  text: string;
}

export interface BoundaryInput {
  workspaces: readonly WorkspaceInput[];
  files: readonly SourceFile[];
  rules?: Readonly<Record<string, readonly string[] | "*">>;
  /** Folders nobody may import (defaults to TEST_ONLY). */
  testOnly?: ReadonlySet<string>;
  /** The repository root's package.json: its devDependencies serve every workspace's dev files. */
  rootPackageJson?: PackageJson;
}

export interface Violation {
  file: string;
  line: number;
  message: string;
}

export interface BoundaryResult {
  violations: Violation[];
  filesChecked: number;
  internalImports: number;
}

export interface ImportRef {
  specifier: string;
  line: number;
  /** `import type` / `export type` / a `typeof import("…")` type: erased, nothing loads at run time. */
  typeOnly: boolean;
}

/** Every module specifier a file names: static and type-only imports, re-exports, `import()`, `require()`. */
export function findImports(fileName: string, text: string): ImportRef[] {
  const kind = fileName.endsWith(".tsx") ? ts.ScriptKind.TSX : ts.ScriptKind.TS;
  const source = ts.createSourceFile(fileName, text, ts.ScriptTarget.Latest, true, kind);
  const found: ImportRef[] = [];
  const add = (node: ts.Node | undefined, typeOnly = false) => {
    if (node && ts.isStringLiteralLike(node)) {
      const line = source.getLineAndCharacterOfPosition(node.getStart(source)).line + 1;
      found.push({ specifier: node.text, line, typeOnly });
    }
  };
  const visit = (node: ts.Node): void => {
    // Only whole-statement `import type` is erased: with verbatimModuleSyntax,
    // `import { type A } from "x"` still loads "x".
    if (ts.isImportDeclaration(node)) {
      add(node.moduleSpecifier, node.importClause?.isTypeOnly ?? false);
    } else if (ts.isExportDeclaration(node)) {
      add(node.moduleSpecifier, node.isTypeOnly);
    } else if (ts.isImportEqualsDeclaration(node) && ts.isExternalModuleReference(node.moduleReference)) {
      add(node.moduleReference.expression, node.isTypeOnly);
    } else if (ts.isImportTypeNode(node) && ts.isLiteralTypeNode(node.argument)) {
      add(node.argument.literal, true);
    } else if (ts.isCallExpression(node)) {
      const callee = node.expression;
      const isDynamicImport = callee.kind === ts.SyntaxKind.ImportKeyword;
      const isRequire = ts.isIdentifier(callee) && callee.text === "require";
      if ((isDynamicImport || isRequire) && node.arguments.length > 0) add(node.arguments[0]);
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

/** The `exports` subpaths a package offers: `"."`, `"./testing"`, patterns like `"./x/*"`. */
export function exportedSubpaths(pkg: PackageJson): string[] {
  const exp = pkg.exports;
  if (exp === undefined || exp === null) return [];
  if (typeof exp === "string" || Array.isArray(exp)) return ["."];
  if (typeof exp === "object") {
    const keys = Object.keys(exp as Record<string, unknown>);
    // An object of conditions ("import", "default", …) describes "." alone.
    return keys.some((k) => k.startsWith(".")) ? keys : ["."];
  }
  return [];
}

function subpathAllowed(subpath: string, offered: readonly string[]): boolean {
  return offered.some((key) => {
    const star = key.indexOf("*");
    if (star === -1) return key === subpath;
    const [head, tail] = [key.slice(0, star), key.slice(star + 1)];
    return subpath.length > head.length + tail.length && subpath.startsWith(head) && subpath.endsWith(tail);
  });
}

function splitPackageSpecifier(specifier: string): { pkg: string; subpath: string } {
  const rest = specifier.slice(SCOPE.length);
  const slash = rest.indexOf("/");
  if (slash === -1) return { pkg: specifier, subpath: "." };
  return { pkg: SCOPE + rest.slice(0, slash), subpath: `./${rest.slice(slash + 1)}` };
}

/** `stripe` → `stripe`, `drizzle-orm/pg-core` → `drizzle-orm`, `@scope/pkg/x` → `@scope/pkg`. */
export function packageNameOf(specifier: string): string {
  const parts = specifier.split("/");
  return specifier.startsWith("@") ? parts.slice(0, 2).join("/") : (parts[0] ?? specifier);
}

const BUILTINS = new Set(builtinModules);
/** Node's own modules (`node:fs`, `fs`, `fs/promises`) and other schemes (`virtual:…`): no package. */
function isBuiltinOrScheme(specifier: string): boolean {
  return /^[a-z]+:/.test(specifier) || BUILTINS.has(specifier) || BUILTINS.has(packageNameOf(specifier));
}

/** Remix's route config: read by its Vite plugin while building, never loaded by the server. */
const BUILD_TIME_FILES = new Set(["storefront/app/routes.ts"]);

/**
 * Files that only run while developing, building or testing: tests, `test/` folders, test
 * helpers (`testing.ts`, `testing/`), tool configs (`*.config.ts`) and BUILD_TIME_FILES.
 */
export function isDevFile(file: string): boolean {
  const parts = file.split("/");
  return (
    /\.(test|spec)\.tsx?$/.test(file) ||
    parts.includes("test") ||
    parts.includes("testing") ||
    /(^|\/)testing\.tsx?$/.test(file) ||
    /\.config\.[cm]?tsx?$/.test(file) ||
    BUILD_TIME_FILES.has(file)
  );
}

function lineOf(text: string | undefined, needle: string): number {
  if (!text) return 1;
  const index = text.indexOf(needle);
  return index === -1 ? 1 : text.slice(0, index).split("\n").length;
}

/** The pure check: no file system, so tests can hand it fixtures. */
export function checkBoundaries(input: BoundaryInput): BoundaryResult {
  const rules = input.rules ?? ALLOWED_IMPORTS;
  const testOnly = input.testOnly ?? TEST_ONLY;
  const violations: Violation[] = [];
  const byFolder = new Map(input.workspaces.map((w) => [w.folder, w]));
  const byPackage = new Map(input.workspaces.map((w) => [w.packageJson.name ?? `${SCOPE}${w.folder}`, w]));
  const mayImport = (from: string, to: string): boolean => {
    if (testOnly.has(to)) return false;
    const allowed = rules[from];
    return allowed === "*" || (allowed?.includes(to) ?? false);
  };
  const describeAllowed = (folder: string): string => {
    const allowed = rules[folder];
    if (allowed === "*") return testOnly.size > 0 ? `everything but ${[...testOnly].join(", ")}` : "everything";
    return allowed && allowed.length > 0 ? allowed.join(", ") : "no other workspace";
  };

  for (const ws of input.workspaces) {
    const pkgFile = `${ws.folder}/package.json`;
    if (!(ws.folder in rules)) {
      violations.push({
        file: pkgFile,
        line: 1,
        message: `workspace "${ws.folder}" has no row in the boundary rules (scripts/check-boundaries.ts, DESIGN.md)`,
      });
      continue;
    }
    // (d, reverse) Listing a forbidden workspace as a dependency is a breach waiting to happen.
    const listed = { ...ws.packageJson.dependencies, ...ws.packageJson.devDependencies };
    for (const dep of Object.keys(listed)) {
      if (!dep.startsWith(SCOPE)) continue;
      const target = byPackage.get(dep);
      if (!target || target === ws) continue;
      if (!mayImport(ws.folder, target.folder)) {
        violations.push({
          file: pkgFile,
          line: lineOf(ws.packageJsonText, `"${dep}"`),
          message: `lists ${dep} as a dependency, but ${ws.folder} may import ${describeAllowed(ws.folder)}`,
        });
      }
    }
  }

  let internalImports = 0;
  const reportedMissingDeps = new Set<string>();
  for (const file of input.files) {
    const folder = file.path.split("/")[0] ?? "";
    const ws = byFolder.get(folder);
    if (!ws) continue;
    for (const { specifier, line, typeOnly } of findImports(file.path, file.text)) {
      const at = (message: string) => violations.push({ file: file.path, line, message });

      if (specifier.startsWith(".") || specifier.startsWith("/")) {
        // (c) Relative imports stay inside the workspace; crossing goes through a package.
        const target = path.posix.normalize(path.posix.join(path.posix.dirname(file.path), specifier));
        if (specifier.startsWith("/") || !(target === folder || target.startsWith(`${folder}/`))) {
          at(`relative import "${specifier}" leaves ${folder}/: import the package through its exports instead`);
        }
        continue;
      }
      if (!specifier.startsWith(SCOPE)) {
        // (e) Declared external packages: an undeclared one works only while a neighbour's
        // dependency happens to be hoisted, and breaks a workspace installed on its own.
        if (isBuiltinOrScheme(specifier)) continue;
        const pkg = packageNameOf(specifier);
        const dev = isDevFile(file.path);
        const p = ws.packageJson;
        const runtime = { ...p.dependencies, ...p.peerDependencies, ...p.optionalDependencies };
        const declared =
          pkg in runtime ||
          ((typeOnly || dev) && pkg in (p.devDependencies ?? {})) ||
          (dev && pkg in (input.rootPackageJson?.devDependencies ?? {}));
        const key = `${folder}\0${pkg}\0${typeOnly || dev}`;
        if (!declared && !reportedMissingDeps.has(key)) {
          reportedMissingDeps.add(key);
          at(
            typeOnly || dev
              ? `imports ${pkg}, which ${folder}/package.json does not list in dependencies or devDependencies`
              : `imports ${pkg} at run time, which ${folder}/package.json does not list in dependencies` +
                  (pkg in (p.devDependencies ?? {}) ? " (only in devDependencies)" : ""),
          );
        }
        continue;
      }

      internalImports++;
      const { pkg, subpath } = splitPackageSpecifier(specifier);
      const target = byPackage.get(pkg);
      if (!target) {
        at(`"${specifier}": no workspace is named ${pkg}`);
        continue;
      }
      const self = target === ws;
      // (a) The DESIGN.md table.
      if (!self && testOnly.has(target.folder)) {
        at(`${folder} may not import ${pkg}: it holds tests only, and nothing imports it`);
      } else if (!self && !mayImport(folder, target.folder)) {
        at(`${folder} may not import ${pkg} (${folder} may import ${describeAllowed(folder)})`);
      }
      // (b) Entry points only.
      const offered = exportedSubpaths(target.packageJson);
      if (!subpathAllowed(subpath, offered)) {
        const entries = offered.length > 0 ? offered.map((s) => (s === "." ? pkg : `${pkg}/${s.slice(2)}`)) : [];
        at(
          `"${specifier}" is not an entry point of ${pkg}` +
            (entries.length > 0 ? ` (its exports: ${entries.join(", ")})` : " (it exports nothing)"),
        );
      }
      // (d) Declared dependencies.
      const deps = { ...ws.packageJson.dependencies, ...ws.packageJson.devDependencies };
      const key = `${folder}\0${pkg}`;
      if (!self && !(pkg in deps) && !reportedMissingDeps.has(key)) {
        reportedMissingDeps.add(key);
        at(`imports ${pkg}, which ${folder}/package.json does not list in dependencies or devDependencies`);
      }
    }
  }

  violations.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
  return { violations, filesChecked: input.files.length, internalImports };
}

function listSourceFiles(rootDir: string, folder: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    for (const entry of fs.readdirSync(path.join(rootDir, rel), { withFileTypes: true })) {
      const child = `${rel}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!SKIPPED_DIRS.has(entry.name) && !entry.name.startsWith(".")) walk(child);
      } else if (entry.isFile() && /\.tsx?$/.test(entry.name) && !entry.name.endsWith(".d.ts")) {
        out.push(child);
      }
    }
  };
  walk(folder);
  return out.sort();
}

/** Reads the workspaces named in the root package.json and their .ts/.tsx files. */
export function loadRepository(rootDir: string): BoundaryInput {
  const root = JSON.parse(fs.readFileSync(path.join(rootDir, "package.json"), "utf8")) as PackageJson & {
    workspaces?: string[];
  };
  const workspaces: WorkspaceInput[] = [];
  const files: SourceFile[] = [];
  for (const folder of root.workspaces ?? []) {
    const pkgPath = path.join(rootDir, folder, "package.json");
    const packageJsonText = fs.readFileSync(pkgPath, "utf8");
    workspaces.push({ folder, packageJson: JSON.parse(packageJsonText) as PackageJson, packageJsonText });
    for (const file of listSourceFiles(rootDir, folder)) {
      files.push({ path: file, text: fs.readFileSync(path.join(rootDir, file), "utf8") });
    }
  }
  return { workspaces, files, rootPackageJson: root };
}

function main(): void {
  const rootDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
  const input = loadRepository(rootDir);
  const result = checkBoundaries(input);
  for (const v of result.violations) console.error(`${v.file}:${v.line}: ${v.message}`);
  if (result.violations.length > 0) {
    console.error(`check-boundaries: ${result.violations.length} violation(s)`);
    process.exit(1);
  }
  console.log(
    `check-boundaries: OK (${input.workspaces.length} workspaces, ${result.filesChecked} files, ${result.internalImports} @marquee imports)`,
  );
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) main();
