export * from "./api.ts";
export * from "./api-router.ts";
export * from "./local-checkout-page.ts";
export * from "./openapi.ts";
export * from "./session-cookie.ts";
