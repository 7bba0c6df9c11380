#!/usr/bin/env bash
# Builds .gpu/payload.tar.xz for a GPU machine that has neither the repo's node_modules, nor
# Node, nor a package registry: the checks (training/gpu/bpr-gpu-check.ts, ease-gpu-check.ts)
# bundled with esbuild, the few packages they import at run time (tfjs-core, -backend-cpu,
# -backend-wasm, -backend-webgpu, webgpu = Dawn's dawn.node for linux-x64, and their own
# dependencies), and this machine's node binary. run-device.sh unpacks and runs it. .gpu/ must be git-ignored
# (`echo /.gpu/ >> .git/info/exclude`); pass `.gpu` (and `.gl`, the Vulkan loader) to the
# device tool's `carry`. The optional packages are installed into $GPU_DEPS_DIR, never into the
# repo: they are not dependencies of the project.
set -euo pipefail
cd "$(dirname "$0")/../.."
deps=${GPU_DEPS_DIR:-/tmp/marquee-gpu-deps}
if [ ! -f "$deps/node_modules/webgpu/dist/linux-x64/dawn.node" ]; then
  mkdir -p "$deps"
  echo '{"name":"marquee-gpu-deps","private":true}' >"$deps/package.json"
  npm install --prefix "$deps" --no-audit --no-fund --ignore-scripts \
    webgpu@0.6.2 @tensorflow/tfjs-core@4.22.0 @tensorflow/tfjs-backend-cpu@4.22.0 \
    @tensorflow/tfjs-backend-wasm@4.22.0 @tensorflow/tfjs-backend-webgpu@4.22.0
fi
stage=.gpu/stage
rm -rf "$stage" .gpu/payload.tar.xz
mkdir -p "$stage/node_modules"
for check in bpr-gpu-check ease-gpu-check; do
  npx esbuild "training/gpu/$check.ts" --bundle --platform=node --format=esm --target=node20 \
    --packages=external --log-level=warning --outfile="$stage/$check.mjs"
done
nm="$deps/node_modules"
copy() { # copy PATH relative to node_modules
  mkdir -p "$stage/node_modules/$(dirname "$1")"
  cp -r "$nm/$1" "$stage/node_modules/$1"
}
for p in tfjs-core tfjs-backend-cpu tfjs-backend-wasm tfjs-backend-webgpu; do
  copy "@tensorflow/$p/package.json"
  copy "@tensorflow/$p/dist/tf-${p#tfjs-}.node.js"
done
for f in "$nm"/@tensorflow/tfjs-backend-wasm/dist/*.wasm; do copy "@tensorflow/tfjs-backend-wasm/dist/$(basename "$f")"; done
# tfjs-core's and the cpu backend's own dependencies (small, plain JavaScript).
for p in long seedrandom node-fetch whatwg-url tr46 webidl-conversions; do copy "$p"; done
copy webgpu/package.json
copy webgpu/index.js
copy webgpu/dist/linux-x64/dawn.node
cp "$(command -v node)" "$stage/node"
tar -C "$stage" -cf - . | xz -T2 -6 >.gpu/payload.tar.xz
rm -rf "$stage"
ls -la .gpu/payload.tar.xz
