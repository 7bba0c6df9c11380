import { parseArgs } from "node:util";
import { AppError } from "@marquee/runtime";
import { API_KEY_SCOPES } from "./access.ts";
import { API_KEY_REFRESH_MS, type ApiKeysCommand, type ApiKeyView, DEFAULT_KEY_RATE_LIMIT } from "./api-keys.ts";

export const API_KEYS_USAGE = `marquee api-keys <create|list|revoke>

  api-keys create --name NAME --scopes SCOPE[,SCOPE] [--rate-limit N/min] [--cors-origin ORIGIN]...
      a key for another client (an app, a partner site); the full key is printed once.
      scopes: ${Object.entries(API_KEY_SCOPES)
        .map(([s, what]) => `${s} (${what})`)
        .join("; ")}
      --rate-limit  requests per minute (default ${DEFAULT_KEY_RATE_LIMIT})
      --cors-origin a browser origin whose pages may use the key (repeat for more; none: servers only)
  api-keys list [--json]
  api-keys revoke KEY_ID
`;

function usage(reason: string): AppError {
  return new AppError("bad_request", `${reason}\n\n${API_KEYS_USAGE}`);
}

/** `600`, `600/min` or `10/s` → requests per minute. */
function perMinute(text: string): number {
  const m = /^(\d+)\s*(?:\/\s*(min|m|minute|s|sec|second))?$/i.exec(text.trim());
  if (!m) throw usage(`--rate-limit must be requests per minute, like 600/min, not ${JSON.stringify(text)}`);
  const n = Number(m[1]);
  return m[2] && /^s/i.test(m[2]) ? n * 60 : n;
}

/** The command line of `marquee api-keys …` as one of the JSON commands of `apiKeyCommands`. */
export function parseApiKeysArgs(argv: readonly string[]): {
  command: ApiKeysCommand;
  args: Record<string, unknown>;
  json: boolean;
} {
  const [verb, ...rest] = argv;
  let parsed: ReturnType<typeof parseOptions>;
  try {
    parsed = parseOptions(rest);
  } catch (err) {
    throw usage((err as Error).message);
  }
  const { values, positionals } = parsed;
  const json = values.json === true;
  switch (verb) {
    case "create": {
      if (!values.name) throw usage("create needs --name");
      if (!values.scopes) throw usage("create needs --scopes");
      return {
        command: "api-keys:create",
        json,
        args: {
          name: values.name,
          scopes: values.scopes.split(",").filter((s) => s.trim() !== ""),
          ...(values["rate-limit"] !== undefined ? { rateLimitPerMinute: perMinute(values["rate-limit"]) } : {}),
          corsOrigins: values["cors-origin"] ?? [],
        },
      };
    }
    case "list":
      return { command: "api-keys:list", json, args: {} };
    case "revoke": {
      const id = positionals[0];
      if (!id) throw usage("revoke needs the key's id (api-keys list shows it)");
      return { command: "api-keys:revoke", json, args: { id } };
    }
    default:
      throw usage(verb ? `unknown api-keys command ${verb}` : "which api-keys command?");
  }
}

function parseOptions(args: string[]) {
  return parseArgs({
    args,
    allowPositionals: true,
    options: {
      name: { type: "string" },
      scopes: { type: "string" },
      "rate-limit": { type: "string" },
      "cors-origin": { type: "string", multiple: true },
      json: { type: "boolean" },
    },
  });
}

const line = (k: ApiKeyView) =>
  [
    `mq_${k.id}_…`,
    JSON.stringify(k.name),
    k.scopes.join(","),
    `${k.rate_limit_per_minute}/min`,
    k.cors_origins.length > 0 ? k.cors_origins.join(",") : "no browser origins",
    `created ${k.created_at}`,
    k.revoked_at ? `REVOKED ${k.revoked_at}` : "active",
  ].join("  ");

/** What the command prints, from its JSON result. */
export function describeApiKeysResult(command: ApiKeysCommand, result: unknown, json: boolean): string {
  if (json) return `${JSON.stringify(result, null, 2)}\n`;
  switch (command) {
    case "api-keys:create": {
      const { key, api_key } = result as { key: ApiKeyView; api_key: string };
      return `Created ${line(key)}\n\n  ${api_key}\n\nCopy the key now: it is shown this once (only its hash is stored). Send it as \`x-api-key: <key>\` or \`Authorization: Bearer <key>\`.\n`;
    }
    case "api-keys:list": {
      const keys = result as ApiKeyView[];
      return keys.length === 0 ? "no API keys\n" : `${keys.map(line).join("\n")}\n`;
    }
    case "api-keys:revoke": {
      const { key, already_revoked } = result as { key: ApiKeyView; already_revoked: boolean };
      return already_revoked
        ? `mq_${key.id}_… (${key.name}) was already revoked at ${key.revoked_at}\n`
        : `Revoked mq_${key.id}_… (${key.name}): every serving replica refuses it within ${API_KEY_REFRESH_MS / 1000} s\n`;
    }
  }
}
