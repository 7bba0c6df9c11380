import { vitePlugin as remix } from "@remix-run/dev";
import { defineConfig } from "vite";

declare module "@remix-run/node" {
  // Typed loader data for single fetch (naked objects and `data()`), as in React Router 7.
  interface Future {
    v3_singleFetch: true;
  }
}

export default defineConfig({
  plugins: [
    remix({
      // Every v3 flag is on, so moving to React Router framework mode is a rename.
      future: {
        v3_fetcherPersist: true,
        v3_relativeSplatPath: true,
        v3_throwAbortReason: true,
        v3_singleFetch: true,
        v3_lazyRouteDiscovery: true,
        v3_routeConfig: true,
      },
    }),
  ],
  ssr: {
    // Workspace packages export TypeScript source; bundle them so build/server runs on plain node.
    noExternal: [/^@marquee\//],
  },
  build: {
    // Posters are SVG routes and the stylesheet is small; keep the client lean for phones and TVs.
    assetsInlineLimit: 0,
  },
});
