// Checks media's signed playback links at the edge, as media/src/signing.ts makes them:
// `base64url(JSON payload) "." base64url(HMAC-SHA256(secret, first part as sent))`, the payload
// pinning the asset root and an expiry in Unix seconds. Same secret as the origin
// (MEDIA_SIGNING_SECRET, from nginx's environment).
// biome-ignore lint/style/useNodejsImportProtocol: njs knows its modules by bare name only.
const crypto = require("crypto");

const SECRET = process.env.MEDIA_SIGNING_SECRET || "";
const ROOT = /^titles\/[A-Za-z0-9_-]{1,128}\/(?:film|trailer)\/[A-Za-z0-9_-]{1,128}$/;
const TOKEN = /^\/media\/s\/([A-Za-z0-9_-]+)\.([A-Za-z0-9_-]+)\//;

// Compares every character whatever the first difference, so a refusal's timing says nothing.
function sameText(a, b) {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

// The link's claims, or a string saying why not ("invalid" / "expired").
function check(r) {
  if (SECRET.length < 32) return "invalid";
  const m = TOKEN.exec(r.uri);
  if (!m || m[0].length > 2100) return "invalid";
  const body = m[1];
  const mac = crypto.createHmac("sha256", SECRET).update(body).digest("base64url");
  if (!sameText(mac, m[2])) return "invalid";
  let claims;
  try {
    claims = JSON.parse(Buffer.from(body, "base64url").toString());
  } catch (_e) {
    return "invalid";
  }
  // biome-ignore lint/complexity/useOptionalChain: njs 0.7 (Debian 12's) has no optional chaining.
  if (!claims || claims.v !== 1 || typeof claims.root !== "string" || !ROOT.test(claims.root)) return "invalid";
  if (typeof claims.exp !== "number" || claims.exp * 1000 <= Date.now()) return "expired";
  return claims;
}

function problem(r) {
  const c = check(r);
  return typeof c === "string" ? c : "";
}

function root(r) {
  const c = check(r);
  return typeof c === "string" ? "" : c.root;
}

export default { problem, root };
