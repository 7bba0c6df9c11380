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
  "STRIPE_SECRET_KEY",
  "*.STRIPE_SECRET_KEY",
  "STRIPE_WEBHOOK_SECRET",
  "*.STRIPE_WEBHOOK_SECRET",
  "PLAYBACK_SECRET",
  "*.PLAYBACK_SECRET",
  "LOCAL_WEBHOOK_SECRET",
  "*.LOCAL_WEBHOOK_SECRET",
  "playbackSecret",
  "*.playbackSecret",
  "localWebhookSecret",
  "*.localWebhookSecret",
  "webhookSecret",
  "*.webhookSecret",
  "secretKey",
  "*.secretKey",
  "csrfToken",
  "*.csrfToken",
  "csrf_token",
  "*.csrf_token",
  'req.headers["stripe-signature"]',
  'req.headers["x-csrf-token"]',
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
