#!/usr/bin/env bash
# Installs the system packages hallmark's labels and their tests need (Debian/Ubuntu):
#   fonts-noto-cjk          a CJK font for the GB 45438 visible label ("AI生成")
#   libimage-exiftool-perl  exiftool, the independent reader the label tests check XMP with
#   chromium                the headless browser that opens `hallmark verify --html` reports in tests
# Idempotent: packages already installed are left alone, and nothing runs when all are present.
set -euo pipefail

packages=(fonts-noto-cjk libimage-exiftool-perl chromium)
missing=()
for pkg in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$pkg")
    fi
done

if [ ${#missing[@]} -eq 0 ]; then
    echo "install-system-deps: all present (${packages[*]})"
    exit 0
fi

if ! command -v apt-get >/dev/null 2>&1; then
    echo "install-system-deps: apt-get not found; install a CJK font and exiftool yourself: ${missing[*]}" >&2
    echo "  (or point labels.cn_gb45438.font_path at a font with CJK glyphs)" >&2
    exit 1
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then
        sudo="sudo"
    else
        echo "install-system-deps: not root and no sudo; run as root: apt-get install ${missing[*]}" >&2
        exit 1
    fi
fi

echo "install-system-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
