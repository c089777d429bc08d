#!/usr/bin/env bash
# Compresses the dashboard build ahead of time: next to every text or wasm file over 255
# bytes it writes NAME.br (brotli, quality 11) and NAME.gz (gzip -9), which the relay sends
# to browsers that accept them (relay/src/http/static_files.rs). A copy that is not smaller
# than its file is removed; the relay then sends the file itself.
#   bash scripts/precompress.sh [DIR]
# Trunk runs it after every build (Trunk.toml's post_build hook) on its staging folder,
# TRUNK_STAGING_DIR, before that folder becomes dist/; without DIR or TRUNK_STAGING_DIR it
# compresses dist/. Debug builds (TRUNK_PROFILE=debug, as `trunk serve` makes) are left as
# they are: the relay serves them uncompressed.
# Needs gzip and the brotli CLI (Debian's `brotli`; scripts/setup.sh's need_wasm_tools).
set -euo pipefail

if [[ "${TRUNK_PROFILE:-release}" != release ]]; then
  echo "[precompress] $TRUNK_PROFILE build: not compressed"
  exit 0
fi
dir="${1:-${TRUNK_STAGING_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/dist}}"
[[ -d "$dir" ]] || { echo "[precompress] no directory $dir" >&2; exit 1; }
for tool in gzip brotli; do
  command -v "$tool" >/dev/null || {
    echo "[precompress] $tool not found: bash scripts/setup.sh wasm installs it" >&2
    exit 1
  }
done

count=0
before=0
after=0
while IFS= read -r -d '' f; do
  size=$(stat -c %s "$f")
  # -n: no name or time stamp in the gzip header, so a build's bytes depend on its input only.
  gzip -9 -n -c -- "$f" >"$f.gz"
  brotli -q 11 -f -o "$f.br" -- "$f"
  for c in "$f.gz" "$f.br"; do
    if (($(stat -c %s "$c") >= size)); then rm -f -- "$c"; fi
  done
  count=$((count + 1))
  before=$((before + size))
  if [[ -f "$f.br" ]]; then after=$((after + $(stat -c %s "$f.br"))); else after=$((after + size)); fi
done < <(find "$dir" -type f -size +255c \
           \( -name '*.wasm' -o -name '*.js' -o -name '*.mjs' -o -name '*.css' -o -name '*.html' \
              -o -name '*.svg' -o -name '*.json' -o -name '*.txt' \) -print0)
echo "[precompress] $count files in $dir: $before bytes, $after as brotli"
