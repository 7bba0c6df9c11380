import { createContext, useContext } from "react";

/**
 * The response's CSP nonce, provided by entry.server around the whole render. In the browser it
 * is undefined: the scripts it marks have run by then, and browsers hide nonces from the DOM.
 */
export const NonceContext = createContext<string | undefined>(undefined);

export function useNonce(): string | undefined {
  return useContext(NonceContext);
}
