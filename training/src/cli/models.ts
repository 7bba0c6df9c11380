/**
 * `npm run models -- list [NAME]` · `promote NAME VERSION` · `rollback NAME` — the model
 * registry in `$DATA_DIR/models` (or `--dir`). Every promotion and rollback is recorded in
 * `<name>/decisions.jsonl` beside the gated decisions of scheduled retraining.
 */
import path from "node:path";
import { pathToFileURL } from "node:url";
import { parseArgs } from "node:util";
import { MODEL_NAMES } from "@marquee/contracts";
import { loadConfig, ModelStore } from "@marquee/runtime";
import { listVersions, promoteManually, rollback } from "../registry.ts";
import { runMain, UsageError } from "./offline-tools.ts";

const USAGE = "usage: npm run models -- list [NAME] | promote NAME VERSION | rollback NAME  [--dir DIR]";

async function main(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { dir: { type: "string" } },
  });
  const root = values.dir ?? path.join(loadConfig().dataDir, "models");
  const store = new ModelStore(root);
  const [command, name, version] = positionals;
  const out = (x: unknown) => process.stdout.write(`${JSON.stringify(x, null, 2)}\n`);
  switch (command) {
    case "list": {
      const names = name ? [name] : Object.values(MODEL_NAMES);
      const result: Record<string, unknown> = {};
      for (const n of names) {
        const { current, versions } = await listVersions(store, n);
        result[n] = versions.map((m) => ({
          version: m.version,
          current: m.version === current,
          created_at: m.created_at,
          data_until: m.data_until,
          backend: m.backend,
          git_sha: m.git_sha,
          metrics: m.metrics,
        }));
      }
      out(result);
      return;
    }
    case "promote": {
      if (!name || !version) throw new UsageError(USAGE);
      if (!(await store.list(name)).includes(version)) throw new UsageError(`${name} has no version ${version}`);
      out(await promoteManually(store, name, version));
      return;
    }
    case "rollback": {
      if (!name) throw new UsageError(USAGE);
      try {
        out(await rollback(store, name));
      } catch (err) {
        throw new UsageError((err as Error).message);
      }
      return;
    }
    default:
      throw new UsageError(USAGE);
  }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? "").href) runMain(main);
