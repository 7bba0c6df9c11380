#!/usr/bin/env bash
# Runs the GPU checks on a bare GPU machine, from the repo root, with .gpu/payload.tar.xz
# (training/gpu/prepare.sh) and, when the machine has no Vulkan loader, the loader's .deb files
# in .gl/. Writes env.txt, results.jsonl and stderr.log under $OUT and prints the JSON lines.
# Each backend runs in its own process, as the chooser picks one per process; the last line
# compares webgpu with wasm (EASE's fit; BPR's step at each batch size).
# CHECKS (default "ease bpr") picks the checks. EASE: wasm first (the sync and the async fit,
# weights saved), then webgpu (EASE_FITS fits, the first compiling the shaders; weights compared
# with wasm's); EASE_ARGS adds options (e.g. "--items 1000" for a dry run). BPR tunables: BACKENDS (default "webgpu wasm cpu"), BATCHES, EPOCHS,
# SECONDS_PER_FIT, STEP_TIMEOUT.
set -uo pipefail
OUT=${OUT:-/tmp/marquee-gpu-out}
mkdir -p "$OUT"
if ! ldconfig -p | grep -q 'libvulkan.so.1' && compgen -G '.gl/*.deb' >/dev/null; then
  for f in .gl/*.deb; do dpkg -x "$f" /; done
  ldconfig
fi
icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$icd" ]; then export VK_DRIVER_FILES=$icd; fi
export XDG_RUNTIME_DIR=${XDG_RUNTIME_DIR:-/tmp}
work=/tmp/marquee-gpu
rm -rf "$work" && mkdir -p "$work"
if command -v xz >/dev/null; then
  xz -dc .gpu/payload.tar.xz | tar -C "$work" -xf -
else
  python3 -c 'import lzma,sys,tarfile; tarfile.open(fileobj=lzma.open(sys.argv[1])).extractall(sys.argv[2])' \
    .gpu/payload.tar.xz "$work"
fi
node="$work/node"
{
  echo "## uname"; uname -a
  echo "## nvidia-smi"; nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv 2>&1
  echo "## node on the machine"; command -v node || echo "none (using the carried $("$node" --version))"
  echo "## vulkan"; ldconfig -p | grep -i libvulkan; echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-}"
  echo "## cpu"; nproc
} >"$OUT/env.txt" 2>&1
cat "$OUT/env.txt"
: >"$OUT/results.jsonl"
checks=" ${CHECKS:-ease bpr} "
if [[ $checks == *" ease "* ]]; then
  for b in wasm webgpu; do
    start=$(date +%s)
    if [ "$b" = wasm ]; then args=(--paths sync,async --save /tmp/ease-wasm.f32)
    else args=(--fits "${EASE_FITS:-2}" --compare /tmp/ease-wasm.f32); fi
    timeout "${EASE_TIMEOUT:-150}" "$node" "$work/ease-gpu-check.mjs" --backend "$b" "${args[@]}" ${EASE_ARGS:-} \
      >>"$OUT/results.jsonl" 2>>"$OUT/stderr.log"
    echo "## ease $b: exit $? after $(($(date +%s) - start)) s" | tee -a "$OUT/stderr.log"
  done
fi
[[ $checks == *" bpr "* ]] && for b in ${BACKENDS:-webgpu wasm cpu}; do
  start=$(date +%s)
  timeout "${STEP_TIMEOUT:-240}" "$node" "$work/bpr-gpu-check.mjs" --backend "$b" \
    --batches "${BATCHES:-4096,8192,65536}" --epochs "${EPOCHS:-3}" --seconds "${SECONDS_PER_FIT:-20}" \
    >>"$OUT/results.jsonl" 2>>"$OUT/stderr.log"
  echo "## $b: exit $? after $(($(date +%s) - start)) s" | tee -a "$OUT/stderr.log"
done
"$node" -e '
const lines = require("fs").readFileSync(process.argv[1], "utf8").split("\n").filter(Boolean).map((l) => JSON.parse(l));
const fits = lines.filter((l) => l.ms_per_step !== undefined);
const gpu = fits.filter((l) => l.backend === "webgpu");
const speedup = {};
for (const g of gpu) {
  const w = fits.find((l) => l.backend === "wasm" && l.batch === g.batch);
  if (w) speedup[g.batch] = Math.round((w.ms_per_step / g.ms_per_step) * 100) / 100;
}
const ease = (b) => lines.find((l) => l.model === "ease" && l.backend === b && l.seconds !== undefined);
const [eg, ew] = [ease("webgpu"), ease("wasm")];
const easeSummary = eg && ew ? {
  webgpu_seconds: eg.seconds, wasm_seconds: ew.fit_seconds_by_path?.sync?.at(-1) ?? ew.seconds,
  speedup: Math.round(((ew.fit_seconds_by_path?.sync?.at(-1) ?? ew.seconds) / eg.seconds) * 100) / 100,
  ndcg_at_10: { webgpu: eg.ndcg_at_10, wasm: ew.ndcg_at_10 }, max_abs_weight_diff: eg.max_abs_diff_vs_compared ?? null,
} : null;
const failed = lines.filter((l) => (l.ok === false && l.counted !== false) || l.checks_ok === false).map((l) => `${l.model ?? "bpr"} ${l.backend}: ${l.check ?? "checks"}`);
console.log(JSON.stringify({ summary: true, card: gpu[0]?.device ?? eg?.device ?? null, ease: easeSummary, webgpu_speedup_over_wasm_by_batch: speedup, failed_checks: failed, errors: lines.filter((l) => l.error && l.counted !== false).map((l) => l.error) }));
' "$OUT/results.jsonl" | tee -a "$OUT/results.jsonl"
cat "$OUT/results.jsonl"
