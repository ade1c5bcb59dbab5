#!/usr/bin/env bash
# Headless Chromium for the report's browser test: Debian's package, driven by Playwright.
# Playwright's own browser download is not used (no network but the package registries).
set -euo pipefail
if command -v chromium >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
  apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
else
  echo "note: chromium is not installed and cannot be installed here; browser tests will be skipped" >&2
fi
