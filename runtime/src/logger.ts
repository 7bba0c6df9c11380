import { type Logger, pino } from "pino";

export type { Logger } from "pino";

/** Paths never written to logs: credentials, cookies, personal data. */
export const REDACT_PATHS = [
  "password",
  "*.password",
  "secret",
  "*.secret",
  "token",
  "*.token",
  "email",
  "*.email",
  "authorization",
  "*.authorization",
  "cookie",
  "*.cookie",
  "req.headers.authorization",
  "req.headers.cookie",
  "DATABASE_URL",
  "*.DATABASE_URL",
  "CLICKHOUSE_PASSWORD",
  "*.CLICKHOUSE_PASSWORD",
];

export function createLogger(options: {
  service: string;
  version?: string;
  level?: string;
  destination?: pino.DestinationStream;
}): Logger {
  return pino(
    {
      level: options.level ?? "info",
      base: { service: options.service, version: options.version ?? "0.1.0" },
      redact: { paths: REDACT_PATHS, censor: "[redacted]" },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination,
  );
}
