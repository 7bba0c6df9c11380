import { type Logger, pino } from "pino";
import { withoutQueryValues } from "./errors.ts";

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
  "MEDIA_SIGNING_SECRET",
  "*.MEDIA_SIGNING_SECRET",
  "mediaSigningSecret",
  "*.mediaSigningSecret",
  "MEDIA_S3_SECRET_KEY",
  "*.MEDIA_S3_SECRET_KEY",
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
      // A failed query's bound values (e-mails, hashes) are dropped from every logged error.
      hooks: {
        // `log.error(err)`: pino takes the message from the error itself.
        logMethod(args, method) {
          if (args[0] instanceof Error) args[0] = withoutQueryValues(args[0]) as Error;
          return method.apply(this, args);
        },
      },
      serializers: {
        err: (e: unknown) => pino.stdSerializers.errWithCause(withoutQueryValues(e) as Error),
        error: (e: unknown) =>
          e instanceof Error ? pino.stdSerializers.errWithCause(withoutQueryValues(e) as Error) : e,
      },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    options.destination,
  );
}
