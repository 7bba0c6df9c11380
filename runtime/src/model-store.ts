import { randomBytes } from "node:crypto";
import { mkdir, readdir, readFile, rename, rm, writeFile } from "node:fs/promises";
import path from "node:path";

/** What every stored model version records beside its files. */
export interface ModelMeta {
  name: string;
  version: string;
  created_at: string;
  /** The newest event time the training data included (ISO), so serving can tell staleness. */
  data_until: string | null;
  metrics: Record<string, number>;
  backend: string;
  git_sha: string | null;
  params: Record<string, unknown>;
}

const NAME = /^[a-z0-9][a-z0-9_-]{0,63}$/;

/**
 * The model registry's storage: `<root>/<name>/<version>/` holds a model's files and
 * `meta.json`; `<root>/<name>/current` names the version serving uses. Versions are written
 * to a temporary folder and renamed into place, and the pointer is replaced by rename, so a
 * reader never sees a half-written model. Training writes; serving only reads.
 */
export class ModelStore {
  constructor(readonly root: string) {}

  static newVersion(now = new Date()): string {
    const stamp = now.toISOString().replace(/[-:]/g, "").replace(".", "");
    return `${stamp}-${randomBytes(3).toString("hex")}`;
  }

  async write(
    meta: Omit<ModelMeta, "version" | "created_at"> & { version?: string },
    files: Record<string, string | Uint8Array>,
  ): Promise<ModelMeta> {
    if (!NAME.test(meta.name)) throw new Error(`invalid model name ${meta.name}`);
    const version = meta.version ?? ModelStore.newVersion();
    const full: ModelMeta = { ...meta, version, created_at: new Date().toISOString() };
    const dir = path.join(this.root, meta.name);
    const tmp = path.join(dir, `.tmp-${version}`);
    await mkdir(tmp, { recursive: true });
    for (const [file, data] of Object.entries(files)) {
      if (file.includes("/") || file.startsWith(".") || file === "meta.json")
        throw new Error(`invalid file name ${file}`);
      await writeFile(path.join(tmp, file), data);
    }
    await writeFile(path.join(tmp, "meta.json"), `${JSON.stringify(full, null, 2)}\n`);
    await rename(tmp, path.join(dir, version));
    return full;
  }

  async setCurrent(name: string, version: string): Promise<void> {
    const dir = path.join(this.root, name);
    await readFile(path.join(dir, version, "meta.json")); // must exist
    const tmp = path.join(dir, `.current-${randomBytes(4).toString("hex")}`);
    await writeFile(tmp, `${version}\n`);
    await rename(tmp, path.join(dir, "current"));
  }

  async currentVersion(name: string): Promise<string | null> {
    try {
      return (await readFile(path.join(this.root, name, "current"), "utf8")).trim() || null;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
      throw e;
    }
  }

  async meta(name: string, version: string): Promise<ModelMeta> {
    return JSON.parse(await readFile(path.join(this.root, name, version, "meta.json"), "utf8")) as ModelMeta;
  }

  async readFile(name: string, version: string, file: string): Promise<Buffer> {
    return readFile(path.join(this.root, name, version, file));
  }

  /** Versions of a model, oldest first. */
  async list(name: string): Promise<string[]> {
    try {
      const entries = await readdir(path.join(this.root, name), { withFileTypes: true });
      return entries
        .filter((e) => e.isDirectory() && !e.name.startsWith("."))
        .map((e) => e.name)
        .sort();
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
      throw e;
    }
  }

  /** Delete all but the newest `keep` versions, never the current one. */
  async prune(name: string, keep: number): Promise<string[]> {
    const versions = await this.list(name);
    const current = await this.currentVersion(name);
    const doomed = versions.slice(0, Math.max(0, versions.length - keep)).filter((v) => v !== current);
    for (const v of doomed) await rm(path.join(this.root, name, v), { recursive: true, force: true });
    return doomed;
  }
}
