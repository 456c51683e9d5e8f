#!/usr/bin/env bash
# Installs the Debian 12 packages Kiln needs to build and test; a no-op when all are
# present. Runs apt-get as root (directly or through sudo).
set -euo pipefail

packages=(
  build-essential cmake ninja-build ccache git python3
  llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools liblld-22-dev
  libprotobuf-dev protobuf-compiler libonnx-dev libonnx-testdata
  libgtest-dev zlib1g-dev libzstd-dev
  python3-numpy python3-onnx python3-torch python3-torchvision
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi
echo "install-deps: installing ${missing[*]}"
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
