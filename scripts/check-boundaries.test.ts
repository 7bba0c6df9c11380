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

describe("findImports", () => {
  it("ignores specifiers in comments and strings", () => {
    const text = '// import "@marquee/training";\nconst s = "from \'@marquee/training\'";\nimport "zod";';
    expect(findImports("a.ts", text)).toEqual([{ specifier: "zod", line: 3 }]);
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
