#!/usr/bin/env bash
# Refresh the catalog's vendored front-end libraries from the npm registry, at the pinned versions below.
# Each library lands in its folder (the pages' libraries under src/dativo_ingest/catalog_web/static/vendor/,
# axe-core, which only the browser tests inject, under tests/catalog/vendor/) with its licence beside it.
# Usage: scripts/refresh_vendor.sh   (needs npm and network access to the registry; nothing else runs it)
set -euo pipefail
cd "$(dirname "$0")/.."
VENDOR=src/dativo_ingest/catalog_web/static/vendor

TESTS=tests/catalog/vendor
# package@version  file-inside-the-package  destination-folder
PINS=(
  "cytoscape@3.35.0 dist/cytoscape.min.js $VENDOR/cytoscape"
  "cytoscape-dagre@4.0.1 dist/cytoscape-dagre.min.js $VENDOR/cytoscape-dagre"
  "chart.js@4.6.1 dist/chart.umd.min.js $VENDOR/chart.js"
  "axe-core@4.14.1 axe.min.js $TESTS/axe-core"
)

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
for pin in "${PINS[@]}"; do
  read -r spec file dest <<<"$pin"
  (cd "$work" && npm pack --silent "$spec" >/dev/null)
  tarball="$(ls "$work"/*.tgz)"
  mkdir -p "$work/unpacked" && tar -xzf "$tarball" -C "$work/unpacked"
  rm -rf "${dest:?}" && mkdir -p "$dest"
  cp "$work/unpacked/package/$file" "$dest/$(basename "$file")"
  for licence in LICENSE LICENSE.md LICENSE.txt LICENCE; do
    if [ -f "$work/unpacked/package/$licence" ]; then cp "$work/unpacked/package/$licence" "$dest/LICENSE"; fi
  done
  [ -f "$dest/LICENSE" ] || { echo "no licence file in $spec" >&2; exit 1; }
  echo "$spec" > "$dest/VERSION"
  rm -rf "$work/unpacked" "$tarball"
  echo "vendored $spec -> $dest/$(basename "$file")"
done
