import { AppError } from "@marquee/runtime";
import { hash, verify } from "@node-rs/argon2";

/** OWASP's argon2id floor: 19 MiB of memory, 2 passes, 1 lane. */
/** `algorithm: 2` is Algorithm.Argon2id (a const enum, which this build cannot import by name). */
export const ARGON2_OPTIONS = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

export const PASSWORD_MIN = 12;
export const PASSWORD_MAX = 256;

/**
 * NIST SP 800-63B: a length floor, no composition rules, any characters. Length counts code
 * points after NFC, so an accented letter is one character however it was typed.
 */
export function checkPasswordPolicy(password: string, context: { email?: string } = {}): void {
  const length = [...password.normalize("NFC")].length;
  if (length < PASSWORD_MIN) throw new AppError("bad_request", `password must be at least ${PASSWORD_MIN} characters`);
  if (length > PASSWORD_MAX) throw new AppError("bad_request", `password must be at most ${PASSWORD_MAX} characters`);
  if (context.email && password.trim().toLowerCase() === context.email.toLowerCase())
    throw new AppError("bad_request", "password must not be your e-mail address");
}

export function hashPassword(password: string): Promise<string> {
  return hash(password.normalize("NFC"), ARGON2_OPTIONS);
}

export async function verifyPassword(stored: string, password: string): Promise<boolean> {
  try {
    return await verify(stored, password.normalize("NFC"));
  } catch {
    return false;
  }
}

/** A hash of nothing anyone knows, verified when the account does not exist (equal timing). */
let decoy: Promise<string> | null = null;
export function decoyHash(): Promise<string> {
  decoy ??= hash("decoy password that nobody uses", ARGON2_OPTIONS);
  return decoy;
}
