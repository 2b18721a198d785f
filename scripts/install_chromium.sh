#!/usr/bin/env bash
# Headless Chromium for the UI test, from Debian's own package (Playwright drives it; it never
# downloads a browser). Needs root or passwordless sudo; does nothing when Chromium is present.
set -euo pipefail

if command -v chromium >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
else
    echo "Chromium is not installed and this user cannot install it: run 'sudo apt-get install chromium' (the UI test is skipped without it)." >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
command -v chromium
