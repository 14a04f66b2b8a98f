#!/usr/bin/env bash
# make nix-check: evaluates the NixOS module (nix/module.nix) with real Nix and
# nixpkgs' lib against stubs of the NixOS options it sets (nothing is built):
#  1. nix/tests/default.nix checks its units, accounts and assertions by value;
#  2. every TOML file it generates passes `hookrun validate --strict`, with the
#     scripts, binaries and token file the configurations name present;
#  3. a value of the wrong type fails with the module system's own message.
# default.nix also evaluates flake.nix against a stand-in nixpkgs input.
# Usage: nix/tests/check.sh HOOKRUN_BINARY
# NIXPKGS_LIB: nixpkgs' lib/ (default: ../shared/nixpkgs-lib/lib).
set -euo pipefail
cd "$(dirname "$0")/../.."

hookrun=$(realpath "${1:?usage: nix/tests/check.sh HOOKRUN_BINARY}")
lib=$(realpath "${NIXPKGS_LIB:-../shared/nixpkgs-lib/lib}")
command -v nix-instantiate >/dev/null || { echo "nix-check: no nix-instantiate (apt-get install nix-bin)" >&2; exit 1; }
[ -f "$lib/default.nix" ] || { echo "nix-check: no nixpkgs lib at $lib (set NIXPKGS_LIB)" >&2; exit 1; }

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# Evaluation only: no daemon, no /nix. Nix warns that group nixbld is missing.
export NIX_STATE_DIR=$tmp/nix-state
root=$tmp/root
# Runs a command, showing its stderr without that warning.
quiet() {
  local rc=0
  "$@" 2>"$tmp/stderr" || rc=$?
  grep -v "group 'nixbld' does not exist" "$tmp/stderr" >&2 || true
  return $rc
}
eval_() { quiet nix-instantiate --eval --strict --arg lib "import $lib" "$@"; }

echo "nix-check: values (nix/tests/default.nix)"
checked=$(eval_ --argstr root "$root" -A checked nix/tests)
echo "nix-check: $checked checks passed"

echo "nix-check: generated TOML with hookrun validate --strict"
# What the configurations name on the target machine (nix/tests/seed.nix, policy.nix).
mkdir -p "$root/etc/git-hooks" "$root/run/secrets" "$root/bin" "$root/pkgs/gitmal/bin" \
  "$root/pkgs/hookrun/share/hookrun"
for f in etc/git-hooks/deploy-production.sh etc/git-hooks/deploy-staging.sh bin/commitlint-range pkgs/gitmal/bin/gitmal; do
  printf '#!/bin/sh\nexit 0\n' >"$root/$f"
  chmod 0755 "$root/$f"
done
printf 'tk_nixcheck\n' >"$root/run/secrets/ntfy-token"
chmod 0600 "$root/run/secrets/ntfy-token"
cp schema/hooks.schema.json "$root/pkgs/hookrun/share/hookrun/"
names=$(eval_ --json --argstr root "$root" -A names nix/tests | tr -d '[]"' | tr ',' ' ')
for name in $names; do
  mkdir -p "$root/out/$(dirname "$name")"
  quiet nix --extra-experimental-features nix-command eval --raw -f nix/tests --arg lib "import $lib" \
    --argstr root "$root" "files.\"$name\"" >"$root/out/$name"
done
for setup in "$root"/out/*; do
  "$hookrun" validate --strict "$setup/hookrun.toml"
  for repo in "$setup"/*.hooks.toml; do
    "$hookrun" validate --strict --config "$setup/hookrun.toml" "$repo"
  done
done

echo "nix-check: wrong types fail with Nix's message"
expect_type_error() {
  local out
  if out=$(nix-instantiate --eval --strict --arg lib "import $lib" --argstr case "$1" nix/tests/type-errors.nix 2>&1); then
    echo "nix-check: case $1 evaluated, but it must fail with: $2" >&2
    exit 1
  fi
  if ! grep -qF -- "$2" <<<"$out"; then
    printf 'nix-check: case %s failed, but not with: %s\n%s\n' "$1" "$2" "$out" >&2
    exit 1
  fi
  echo "nix-check: $1: $(grep -F -- "$2" <<<"$out" | head -n 1 | cut -c1-160)"
}
expect_type_error user-number "A definition for option \`services.hookrun.user' is not of type \`string, not containing newlines or colons'"
expect_type_error reconcile-string "A definition for option \`services.hookrun.reconcile.enable' is not of type \`boolean'"
expect_type_error setting-null "A definition for option \`services.hookrun.repositories.web.settings.jobs.site.timeout' is not of type \`TOML value'"
expect_type_error path-number "A definition for option \`services.hookrun.repositories.web.path' is not of type \`string'"
echo "nix-check: ok"
