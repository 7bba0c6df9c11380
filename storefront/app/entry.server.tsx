import { PassThrough } from "node:stream";
import {
  type ActionFunctionArgs,
  type AppLoadContext,
  createReadableStreamFromReadable,
  type EntryContext,
  type LoaderFunctionArgs,
} from "@remix-run/node";
import { isRouteErrorResponse, RemixServer } from "@remix-run/react";
import { isbot } from "isbot";
import { renderToPipeableStream } from "react-dom/server";
import { NonceContext } from "./lib/nonce";
import { newNonce, setBaseSecurityHeaders, setDocumentSecurityHeaders } from "./lib/security.server";

/** How long a streamed render (and single-fetch data) may wait for pending promises, in ms. */
export const streamTimeout = 5_000;

/** Remix calls this for loader, action and render errors; they go to the services' logger. */
export function handleError(error: unknown, { request, context }: LoaderFunctionArgs | ActionFunctionArgs): void {
  // A visitor who navigates away aborts the request: not an error.
  if (request.signal.aborted) return;
  if (isRouteErrorResponse(error) && error.status < 500) return;
  const url = new URL(request.url);
  context.services.log.error({ err: error, method: request.method, path: url.pathname }, "storefront request failed");
}

/** Single-fetch data and resource responses: the headers that are not page-specific. */
export function handleDataRequest(response: Response, { context }: LoaderFunctionArgs | ActionFunctionArgs): Response {
  setBaseSecurityHeaders(response.headers, context.services);
  return response;
}

export default function handleRequest(
  request: Request,
  responseStatusCode: number,
  responseHeaders: Headers,
  remixContext: EntryContext,
  loadContext: AppLoadContext,
): Promise<Response> {
  // Crawlers get the whole page at once; browsers get the shell as soon as it is ready.
  const waitForAll = isbot(request.headers.get("user-agent") ?? "") || remixContext.isSpaMode;
  // One nonce per page: the CSP names it, and every inline script React and Remix write carries it.
  const nonce = newNonce();
  setDocumentSecurityHeaders(responseHeaders, nonce, loadContext.services);
  return new Promise((resolve, reject) => {
    let shellRendered = false;
    let status = responseStatusCode;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const ready = () => {
      shellRendered = true;
      const body = new PassThrough();
      responseHeaders.set("Content-Type", "text/html; charset=utf-8");
      resolve(new Response(createReadableStreamFromReadable(body), { headers: responseHeaders, status }));
      pipe(body);
    };
    const { pipe, abort } = renderToPipeableStream(
      <NonceContext.Provider value={nonce}>
        <RemixServer context={remixContext} url={request.url} nonce={nonce} />
      </NonceContext.Provider>,
      {
        nonce,
        onShellReady() {
          if (!waitForAll) ready();
        },
        onAllReady() {
          clearTimeout(timer);
          if (waitForAll) ready();
        },
        onShellError(error: unknown) {
          reject(error);
        },
        onError(error: unknown) {
          status = 500;
          // Errors before the shell reject above and reach handleError; these happen mid-stream.
          if (shellRendered) {
            loadContext.services.log.error(
              { err: error, path: new URL(request.url).pathname },
              "streaming render failed",
            );
          }
        },
      },
    );
    // Abort a little after streamTimeout so pending promises settle (rejected) first.
    timer = setTimeout(abort, streamTimeout + 1_000);
  });
}
