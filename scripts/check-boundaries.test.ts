import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  type BoundaryInput,
  checkBoundaries,
  findImports,
  loadRepository,
  type SourceFile,
  type WorkspaceInput,
} from "./check-boundaries.ts";

function workspace(folder: string, deps: string[] = [], exports: unknown = { ".": "./src/index.ts" }): WorkspaceInput {
  return {
    folder,
    packageJson: {
      name: `@marquee/${folder}`,
      exports,
      dependencies: Object.fromEntries(deps.map((d) => [`@marquee/${d}`, "*"])),
    },
  };
}

const workspaces: WorkspaceInput[] = [
  workspace("contracts"),
  workspace("runtime", ["contracts"], { ".": "./src/index.ts", "./testing": "./src/testing.ts" }),
  workspace("training", ["contracts", "runtime"]),
  workspace("serving", ["contracts", "runtime"]),
  workspace("cli", ["contracts", "runtime", "training", "serving"]),
];

function check(files: SourceFile[], ws: WorkspaceInput[] = workspaces) {
  const input: BoundaryInput = { workspaces: ws, files };
  return checkBoundaries(input).violations;
}

describe("checkBoundaries", () => {
  it("passes allowed imports, entry points, in-workspace relative imports and the cli composing all", () => {
    const violations = check([
      {
        path: "serving/src/app.ts",
        text: [
          'import { EventSchema } from "@marquee/contracts";',
          'import type { Config } from "@marquee/runtime";',
          'import { serviceSuite } from "@marquee/runtime/testing";',
          'import { score } from "./score.ts";',
          'import { helper } from "../test/helper.ts";',
        ].join("\n"),
      },
      { path: "cli/src/main.ts", text: 'import "@marquee/training";\nimport "@marquee/serving";' },
    ]);
    expect(violations).toEqual([]);
  });

  it("fails an import the DESIGN.md table forbids, however it is written", () => {
    const violations = check([
      {
        path: "serving/src/app.ts",
        text: [
          'import { train } from "@marquee/training";',
          'import type { Model } from "@marquee/training";',
          'export { train as t } from "@marquee/training";',
          'const lazy = await import("@marquee/training");',
          'type M = typeof import("@marquee/training");',
        ].join("\n"),
      },
    ]);
    const forbidden = violations.filter((v) => v.message.includes("may not import @marquee/training"));
    expect(forbidden.map((v) => v.line)).toEqual([1, 2, 3, 4, 5]);
    expect(forbidden[0]?.message).toContain("serving may import contracts, runtime, feature-store");
    expect(violations.every((v) => v.file === "serving/src/app.ts")).toBe(true);
  });

  it("fails a deep import that bypasses the package's exports", () => {
    const violations = check([
      { path: "serving/src/app.ts", text: '\n\nimport { pool } from "@marquee/runtime/src/postgres.ts";' },
    ]);
    expect(violations).toEqual([
      {
        file: "serving/src/app.ts",
        line: 3,
        message: expect.stringContaining(
          '"@marquee/runtime/src/postgres.ts" is not an entry point of @marquee/runtime',
        ),
      },
    ]);
  });

  it("fails a relative import that leaves its workspace", () => {
    const violations = check([
      { path: "serving/src/app.ts", text: 'import { train } from "../../training/src/train.ts";' },
    ]);
    expect(violations).toHaveLength(1);
    expect(violations[0]).toMatchObject({ file: "serving/src/app.ts", line: 1 });
    expect(violations[0]?.message).toContain("leaves serving/");
  });

  it("fails an import of a workspace the package.json does not list, and a forbidden listed dependency", () => {
    const ws = [
      workspace("contracts"),
      workspace("runtime", ["contracts"]),
      workspace("commerce", ["contracts", "training"]),
      workspace("training", ["contracts", "runtime"]),
    ];
    const violations = check([{ path: "commerce/src/a.ts", text: 'import "@marquee/runtime";' }], ws);
    expect(violations.map((v) => `${v.file}:${v.message}`)).toEqual([
      expect.stringMatching(/^commerce\/package\.json:lists @marquee\/training/),
      expect.stringMatching(/^commerce\/src\/a\.ts:imports @marquee\/runtime, which commerce\/package\.json/),
    ]);
  });

  it("fails a workspace missing from the rules and an unknown @marquee package", () => {
    const violations = check(
      [{ path: "serving/src/a.ts", text: 'import "@marquee/nope";' }],
      [...workspaces, workspace("mystery")],
    );
    expect(violations.map((v) => v.message)).toEqual([
      expect.stringContaining('workspace "mystery" has no row'),
      expect.stringContaining("no workspace is named @marquee/nope"),
    ]);
  });
});

describe("the e2e workspace", () => {
  const e2e = workspace("e2e", ["contracts", "runtime", "training", "serving", "cli"]);

  it("may import every workspace, the composition root included", () => {
    const violations = check(
      [
        {
          path: "e2e/test/app.e2e.test.ts",
          text: [
            'import { createMarquee } from "@marquee/cli";',
            'import "@marquee/training";',
            'import "@marquee/serving";',
            'import { serviceSuite } from "@marquee/runtime/testing";',
          ].join("\n"),
        },
      ],
      [...workspaces, e2e],
    );
    expect(violations).toEqual([]);
  });

  it("is imported by nothing, not even by the workspaces that may import everything", () => {
    const violations = check(
      [
        { path: "cli/src/main.ts", text: 'import "@marquee/e2e";' },
        { path: "bench/src/bench.ts", text: 'import "@marquee/e2e";' },
      ],
      [...workspaces, workspace("bench", ["cli", "e2e"]), e2e],
    );
    expect(violations.map((v) => `${v.file}:${v.line}: ${v.message}`)).toEqual([
      "bench/package.json:1: lists @marquee/e2e as a dependency, but bench may import everything but e2e",
      expect.stringMatching(/^bench\/src\/bench\.ts:1: bench may not import @marquee\/e2e: it holds tests only/),
      expect.stringMatching(/^cli\/src\/main\.ts:1: cli may not import @marquee\/e2e: it holds tests only/),
      expect.stringMatching(/^cli\/src\/main\.ts:1: imports @marquee\/e2e, which cli\/package\.json does not list/),
    ]);
  });
});

describe("findImports", () => {
  it("ignores specifiers in comments and strings", () => {
    const text = '// import "@marquee/training";\nconst s = "from \'@marquee/training\'";\nimport "zod";';
    expect(findImports("a.ts", text)).toEqual([{ specifier: "zod", line: 3, typeOnly: false }]);
  });

  it("marks only erased imports as type-only", () => {
    const text = [
      'import type { A } from "a";',
      'import { type B } from "b";', // kept by verbatimModuleSyntax: "b" still loads
      'export type { C } from "c";',
      'type D = typeof import("d");',
      'import e from "e";',
    ].join("\n");
    expect(findImports("a.ts", text).map((i) => [i.specifier, i.typeOnly])).toEqual([
      ["a", true],
      ["b", false],
      ["c", true],
      ["d", true],
      ["e", false],
    ]);
  });
});

describe("external packages", () => {
  const ws = (deps: Record<string, string>, devDeps: Record<string, string> = {}): WorkspaceInput[] => [
    { folder: "contracts", packageJson: { name: "@marquee/contracts", exports: { ".": "./src/index.ts" } } },
    {
      folder: "cli",
      packageJson: { name: "@marquee/cli", dependencies: deps, devDependencies: devDeps },
    },
  ];
  const run = (files: SourceFile[], workspaces: WorkspaceInput[], rootDev: Record<string, string> = {}) =>
    checkBoundaries({ workspaces, files, rootPackageJson: { devDependencies: rootDev } }).violations.map(
      (v) => `${v.file}:${v.line}: ${v.message}`,
    );

  it("fails a package the workspace does not declare, named once per workspace, subpaths included", () => {
    const violations = run(
      [
        { path: "cli/src/a.ts", text: 'import Stripe from "stripe";\nimport { sql } from "drizzle-orm/pg-core";' },
        { path: "cli/src/b.ts", text: 'import Stripe from "stripe";' },
      ],
      ws({ fastify: "^5" }),
    );
    expect(violations).toEqual([
      "cli/src/a.ts:1: imports stripe at run time, which cli/package.json does not list in dependencies",
      "cli/src/a.ts:2: imports drizzle-orm at run time, which cli/package.json does not list in dependencies",
    ]);
  });

  it("passes declared packages, scoped ones and Node's builtins with or without node:", () => {
    const text = [
      'import fs from "node:fs";',
      'import path from "path";',
      'import { readFile } from "fs/promises";',
      'import Fastify from "fastify";',
      'import { createClient } from "@clickhouse/client";',
      'import "@marquee/contracts";',
      'import build from "virtual:remix/server-build";',
    ].join("\n");
    const workspaces = ws({ fastify: "^5", "@clickhouse/client": "^1", "@marquee/contracts": "*" });
    expect(run([{ path: "cli/src/a.ts", text }], workspaces)).toEqual([]);
  });

  it("lets devDependencies serve type-only imports and dev files, not code that runs", () => {
    const workspaces = ws({}, { stripe: "^23" });
    expect(
      run(
        [
          { path: "cli/src/types.ts", text: 'import type Stripe from "stripe";' },
          { path: "cli/src/pay.test.ts", text: 'import Stripe from "stripe";' },
          { path: "cli/test/e2e.ts", text: 'import Stripe from "stripe";' },
        ],
        workspaces,
      ),
    ).toEqual([]);
    expect(run([{ path: "cli/src/pay.ts", text: 'import Stripe from "stripe";' }], workspaces)).toEqual([
      "cli/src/pay.ts:1: imports stripe at run time, which cli/package.json does not list in dependencies (only in devDependencies)",
    ]);
    expect(run([{ path: "cli/src/types.ts", text: 'import type Stripe from "stripe";' }], ws({}))).toEqual([
      "cli/src/types.ts:1: imports stripe, which cli/package.json does not list in dependencies or devDependencies",
    ]);
  });

  it("lets dev files use the root's devDependencies (the shared toolchain), production code not", () => {
    const rootDev = { vitest: "^3", vite: "^6" };
    expect(
      run(
        [
          { path: "cli/src/a.test.ts", text: 'import { it } from "vitest";' },
          { path: "cli/vite.config.ts", text: 'import { defineConfig } from "vite";' },
        ],
        ws({}),
        rootDev,
      ),
    ).toEqual([]);
    expect(run([{ path: "cli/src/a.ts", text: 'import { it } from "vitest";' }], ws({}), rootDev)).toEqual([
      "cli/src/a.ts:1: imports vitest at run time, which cli/package.json does not list in dependencies",
    ]);
  });
});

describe("loadRepository", () => {
  let dir = "";
  afterEach(() => {
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  it("reads workspaces and their sources from disk, skipping node_modules, build and dist", () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "boundaries-"));
    const write = (rel: string, text: string) => {
      fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
      fs.writeFileSync(path.join(dir, rel), text);
    };
    write("package.json", JSON.stringify({ workspaces: ["contracts", "serving"] }));
    write("contracts/package.json", JSON.stringify({ name: "@marquee/contracts", exports: { ".": "./src/index.ts" } }));
    write(
      "serving/package.json",
      JSON.stringify({
        name: "@marquee/serving",
        exports: "./src/index.ts",
        dependencies: { "@marquee/contracts": "*" },
      }),
    );
    write("contracts/src/index.ts", "export const x = 1;\n");
    write("serving/src/index.ts", 'import { x } from "@marquee/contracts";\nexport const y = x;\n');
    write("serving/src/view.tsx", 'import "../../contracts/src/index.ts";\n');
    write("serving/build/out.ts", 'import "@marquee/training";\n');
    write("serving/node_modules/dep/index.ts", 'import "@marquee/training";\n');

    const input = loadRepository(dir);
    expect(input.files.map((f) => f.path)).toEqual([
      "contracts/src/index.ts",
      "serving/src/index.ts",
      "serving/src/view.tsx",
    ]);
    const { violations } = checkBoundaries(input);
    expect(violations).toEqual([
      { file: "serving/src/view.tsx", line: 1, message: expect.stringContaining("leaves serving/") },
    ]);
  });
});
