#!/usr/bin/env bash
# Cross-builds the addon for Windows x64 with MinGW-w64 (Debian's
# g++-mingw-w64-x86-64-posix) into .cache/windows/build/shmnet.node.
#
# node.exe exports Node-API as plain C functions, so an import library made
# from node-api-headers' node_api.def is all the addon links against. V8's
# C++ API cannot be linked from MinGW (node.exe exports it with MSVC name
# mangling), which is why binding.cc builds with SHMNET_NODE_API_ONLY on
# Windows. Users on real Windows build with node-gyp and MSVC as usual
# (binding.gyp); this build exists to test the Windows code under Wine.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${SHMNET_WIN_CACHE:-$root/.cache/windows}/build
CXX=${CXX_WIN:-x86_64-w64-mingw32-g++-posix}
DLLTOOL=${DLLTOOL_WIN:-x86_64-w64-mingw32-dlltool}
for tool in "$CXX" "$DLLTOOL"; do
  command -v "$tool" >/dev/null || { echo "build-windows: $tool not found (apt-get install g++-mingw-w64-x86-64-posix)" >&2; exit 1; }
done
headers=$(node -p "require('node-api-headers').include_dir")
addon_api=$(node -p "require('node-addon-api').include_dir")
def=$(node -p "require('node-api-headers').def_paths.node_api_def")
mkdir -p "$out"
# The import library: the functions node.exe exports, bound to node.exe by
# name: Node-API, and libuv's uv_get_osfhandle (fd -> HANDLE, see shm_win.cc).
{ sed 's/^NAME .*/LIBRARY node.exe/' "$def"; echo; echo uv_get_osfhandle; } > "$out/node_api.def"
"$DLLTOOL" -d "$out/node_api.def" -l "$out/libnode.a" -D node.exe
"$CXX" -std=c++20 -O2 -shared -o "$out/shmnet.node" \
  -DNAPI_VERSION=8 -DNAPI_DISABLE_CPP_EXCEPTIONS -DNODE_ADDON_API_DISABLE_DEPRECATED -DBUILDING_NODE_EXTENSION \
  -DSHMNET_NODE_API_ONLY -I"$headers" -I"$addon_api" \
  -Wall -Wextra -Wno-unused-parameter -Wno-cast-function-type \
  "$root/native/binding.cc" "$root/native/shm_win.cc" "$root/native/fdpass_linux.cc" \
  -L"$out" -lnode -static-libgcc -static-libstdc++ -static
echo "build-windows: $out/shmnet.node"
