import { createHash } from "node:crypto";
import { chmodSync, rmSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";
import { AppError, type ErrorCode, isAppError, type Logger } from "@marquee/runtime";
import { ROLES, type Role } from "./accounts.ts";

/**
 * Operator commands for a running embedded store. PGlite keeps `$DATA_DIR/pg` open in the one
 * process that runs the store, with its pages in memory: a second process that opens the same
 * folder (`marquee grant-role`) writes where the running store never looks (its change showed
 * only after a restart) and risks the files. So while a store runs, operator commands go to it
 * over a Unix socket in its data folder (mode 0600: only the store's own user can connect), and
 * it changes its own database; the next request sees the change.
 */

export type OperatorCommand = { command: "grant-role"; email: string; role: Role };
export type OperatorReply = { ok: true; granted: boolean } | { ok: false; code: ErrorCode; message: string };

/**
 * A command another workspace adds to the socket (serving's `api-keys:*`), composed by the
 * CLI: JSON arguments in, a JSON result out. An AppError below 500 reaches the operator as is.
 */
export type OperatorExtension = (args: Record<string, unknown>) => Promise<unknown>;
export type OperatorExtensionReply = { ok: true; result: unknown } | { ok: false; code: ErrorCode; message: string };

/** Unix socket paths are limited to ~104 bytes; a long data folder's socket lives in the temp folder. */
export function operatorSocketPath(dataDir: string): string {
  const dir = path.resolve(dataDir);
  const id = createHash("sha256").update(dir).digest("hex").slice(0, 16);
  if (process.platform === "win32") return `\\\\.\\pipe\\marquee-${id}`;
  const inDir = path.join(dir, "operator.sock");
  return Buffer.byteLength(inDir) <= 100 ? inDir : path.join(tmpdir(), `marquee-${id}.sock`);
}

export interface OperatorHandlers {
  grantRoleByEmail(email: string, role: Role): Promise<boolean>;
}

/** Listen for operator commands (one JSON line in, one JSON line out per connection). */
export async function serveOperatorCommands(
  socketPath: string,
  handlers: OperatorHandlers,
  logger: Logger,
  extensions: Readonly<Record<string, OperatorExtension>> = {},
): Promise<{ close(): Promise<void> }> {
  // A socket file left by a store that died is in the way; a live store on the same data
  // folder cannot exist (PGlite has one process), so it is removed.
  if (process.platform !== "win32") rmSync(socketPath, { force: true });
  const server = net.createServer((socket) => {
    socket.setEncoding("utf8");
    socket.setTimeout(10_000, () => socket.destroy());
    let buffered = "";
    socket.on("data", (chunk: string) => {
      buffered += chunk;
      if (buffered.length > 4096) return socket.destroy();
      const end = buffered.indexOf("\n");
      if (end < 0) return;
      void answer(buffered.slice(0, end), handlers, extensions).then((reply) =>
        socket.end(`${JSON.stringify(reply)}\n`),
      );
    });
    socket.on("error", (err) => logger.debug({ err }, "operator connection failed"));
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(socketPath, () => {
      server.off("error", reject);
      resolve();
    });
  });
  if (process.platform !== "win32") chmodSync(socketPath, 0o600);
  return {
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
      }),
  };
}

async function answer(
  line: string,
  handlers: OperatorHandlers,
  extensions: Readonly<Record<string, OperatorExtension>>,
): Promise<OperatorReply | OperatorExtensionReply> {
  try {
    const cmd = JSON.parse(line) as Partial<OperatorCommand>;
    const extension = typeof cmd.command === "string" ? Object.hasOwn(extensions, cmd.command) : false;
    if (extension) {
      const args = (cmd as { args?: unknown }).args;
      const given = args && typeof args === "object" && !Array.isArray(args) ? (args as Record<string, unknown>) : {};
      return { ok: true, result: await (extensions[cmd.command as string] as OperatorExtension)(given) };
    }
    if (cmd.command !== "grant-role" || typeof cmd.email !== "string" || !ROLES.includes(cmd.role as Role))
      throw new AppError("bad_request", `unknown operator command; expected grant-role EMAIL ${ROLES.join("|")}`);
    return { ok: true, granted: await handlers.grantRoleByEmail(cmd.email, cmd.role as Role) };
  } catch (err) {
    if (isAppError(err) && err.status < 500) return { ok: false, code: err.code, message: err.message };
    return { ok: false, code: "internal", message: "the store could not carry out the command" };
  }
}

/** Send an extension's command (e.g. `api-keys:create`) to the store running here; null when none is running. */
export function sendOperatorExtension(
  socketPath: string,
  command: string,
  args: Record<string, unknown>,
): Promise<OperatorExtensionReply | null> {
  return sendLine(socketPath, { command, args }) as Promise<OperatorExtensionReply | null>;
}

/** Send a command to the store running on this data folder; null when none is running. */
export function sendOperatorCommand(socketPath: string, command: OperatorCommand): Promise<OperatorReply | null> {
  return sendLine(socketPath, command) as Promise<OperatorReply | null>;
}

function sendLine(socketPath: string, command: object): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(socketPath);
    let buffered = "";
    socket.setEncoding("utf8");
    socket.setTimeout(15_000, () => socket.destroy(new AppError("unavailable", "the running store did not answer")));
    socket.on("connect", () => socket.write(`${JSON.stringify(command)}\n`));
    socket.on("data", (chunk: string) => {
      buffered += chunk;
    });
    socket.on("end", () => {
      try {
        resolve(JSON.parse(buffered));
      } catch {
        reject(new AppError("unavailable", "the running store gave no answer"));
      }
    });
    socket.on("error", (err: NodeJS.ErrnoException) => {
      // No store is listening (never started, or a socket file left by one that died).
      if (err.code === "ENOENT" || err.code === "ECONNREFUSED") resolve(null);
      else reject(err);
    });
  });
}
