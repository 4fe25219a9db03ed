#!/usr/bin/env bash
# System packages the deck export needs: Chromium (marp-cli renders with it), CJK fonts
# (Chinese slide text), poppler (PDF preview); and bubblewrap, the sandbox model-written code
# runs in. Installed with apt when running as root; otherwise say exactly what to install.
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 || missing+=(chromium)
# (no grep -q: it would close the pipe early and fail the pipeline under pipefail)
fc-list 2>/dev/null | grep -i "Noto Sans CJK" >/dev/null || missing+=(fonts-noto-cjk)
command -v pdftoppm >/dev/null 2>&1 || missing+=(poppler-utils)
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)

if ((${#missing[@]} == 0)); then
  exit 0
fi
if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "setup-system: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
else
  echo "setup-system: missing system packages: ${missing[*]}" >&2
  echo "  install them with: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
