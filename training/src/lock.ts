import { mkdir, open, readFile, rm, stat } from "node:fs/promises";
import { hostname } from "node:os";
import path from "node:path";

export interface LockHolder {
  pid: number;
  host: string;
  since: string;
  job: string;
}

/**
 * An exclusive lock file shared by every process that can reach the registry folder:
 * created with O_EXCL, so exactly one creator wins. A lock is stale — and is taken over —
 * when its holder was on this host and that process is gone, or when it is older than
 * `staleMs` (a crashed holder on another host). Returns a release function, or null when
 * someone else holds a live lock.
 */
export async function tryLock(
  file: string,
  job: string,
  options: { staleMs?: number } = {},
): Promise<(() => Promise<void>) | null> {
  const staleMs = options.staleMs ?? 6 * 3600_000;
  await mkdir(path.dirname(file), { recursive: true });
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const handle = await open(file, "wx");
      const holder: LockHolder = { pid: process.pid, host: hostname(), since: new Date().toISOString(), job };
      await handle.writeFile(JSON.stringify(holder));
      await handle.close();
      return async () => {
        await rm(file, { force: true });
      };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== "EEXIST") throw e;
      if (!(await isStale(file, staleMs))) return null;
      await rm(file, { force: true }); // take over a dead holder's lock, then retry once
    }
  }
  return null;
}

async function isStale(file: string, staleMs: number): Promise<boolean> {
  let holder: LockHolder | null = null;
  try {
    holder = JSON.parse(await readFile(file, "utf8")) as LockHolder;
  } catch {
    // Unreadable or half-written: judge by age alone.
  }
  try {
    const age = Date.now() - (await stat(file)).mtimeMs;
    if (age > staleMs) return true;
  } catch {
    return true; // vanished: free
  }
  if (holder && holder.host === hostname() && holder.pid !== process.pid) {
    try {
      process.kill(holder.pid, 0);
      return false;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === "ESRCH";
    }
  }
  return false;
}
