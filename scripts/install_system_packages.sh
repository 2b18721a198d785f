#!/usr/bin/env bash
# Debian packages the invoices need: Pango (WeasyPrint lays out the PDF with it), HarfBuzz-Subset
# (WeasyPrint subsets the embedded fonts with it; its fontTools fallback stamps each subset with
# the time, so a re-run would not write byte-identical PDFs), the DejaVu fonts
# embedded in every PDF (every glyph of every name: Łódź, Nguyễn, Ærøskøbing; Droid Sans Fallback
# for Chinese, Japanese and Korean names) and poppler-utils
# (`pdftotext`, with which the tests read the PDFs back). Needs root or passwordless sudo; does
# nothing when everything is present.
set -euo pipefail

PACKAGES=(libpango-1.0-0 libpangoft2-1.0-0 libharfbuzz-subset0 fonts-dejavu-core fonts-droid-fallback poppler-utils)

missing=()
for package in "${PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing+=("$package")
done
if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" -eq 0 ]; then
    SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    SUDO="sudo -n"
else
    echo "Missing Debian packages: ${missing[*]}. Run 'sudo apt-get install ${missing[*]}': invoices need them for their PDF." >&2
    exit 1
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
