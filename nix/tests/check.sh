#!/usr/bin/env bash
# make nix-check: evaluates the NixOS module (nix/module.nix) with real Nix and
# nixpkgs' lib against stubs of the NixOS options it sets (nothing is built):
#  1. nix/tests/default.nix checks its units, accounts and assertions by value;
#  2. every TOML file it generates passes `hookrun validate --strict`, with the
#     scripts, binaries and token file the configurations name present;
#  3. the repository units' ExecStart lines, run for real on bare repositories
#     under a temp root, install, are idempotent, keep a foreign hook (or back
#     it up with force);
#  4. a value of the wrong type fails with the module system's own message.
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

echo "nix-check: activation: the repository units' ExecStart lines, run for real"
# What activation provides, under root: the system profile's hookrun, the
# files in /etc/hookrun, git and coreutils (default.nix maps the paths).
nixeval() { quiet nix --extra-experimental-features nix-command eval --raw -f nix/tests --arg lib "import $lib" --argstr root "$root" "$1"; }
mkdir -p "$root/run/current-system/sw/bin" "$root/etc/hookrun/repositories" "$root/pkgs/git/bin" "$root/pkgs/coreutils/bin"
ln -s "$hookrun" "$root/run/current-system/sw/bin/hookrun"
ln -s "$(dirname "$hookrun")/hookrun-hook" "$root/run/current-system/sw/bin/hookrun-hook"
ln -s "$(command -v git)" "$root/pkgs/git/bin/git"
ln -s "$(command -v ln)" "$root/pkgs/coreutils/bin/ln"
for f in hookrun.toml repositories/web.hooks.toml repositories/app.hooks.toml; do
  nixeval "activationEtc.\"$f\"" >"$root/etc/hookrun/$f"
done
export HOOKRUN_CONFIG=$root/etc/hookrun/hookrun.toml
git init --bare -q "$root/srv/git/web.git" # app.git: the unit creates it
# run_unit UNIT: its ExecStart lines in order, stopping at the first failure, as systemd does.
run_unit() {
  local argv lines
  lines=$(nixeval "activation.$1") && [ -n "$lines" ] || { echo "nix-check: no ExecStart lines for $1" >&2; exit 1; }
  while IFS=$'\t' read -r -a argv; do
    "${argv[@]}" || return
  done <<<"$lines"
}
fail() { printf 'nix-check: activation: %s\n' "$*" >&2; exit 1; }
expect_link() { [ "$(readlink "$1")" = "$2" ] || fail "$1 links to '$(readlink "$1")', want $2"; }
# hookrun install writes each hook as a script that runs hookrun by its path
# (post-receive: hookrun-hook beside it)
expect_hook() { [ -x "$1" ] && [ "$(head -1 "$1")" = "#!$2" ] || fail "$1 is not a hookrun hook running $2: $(head -5 "$1" 2>&1)"; }
for unit in hookrun-repo-web hookrun-repo-app; do
  out=$(run_unit $unit 2>&1) || fail "$unit failed: $out"
done
for repo in web team/app; do
  expect_hook "$root/srv/git/$repo.git/hooks/post-receive" "$root/run/current-system/sw/bin/hookrun-hook"
  expect_hook "$root/srv/git/$repo.git/hooks/pre-receive" "$root/run/current-system/sw/bin/hookrun"
  expect_link "$root/srv/git/$repo.git/hooks.toml" "$root/etc/hookrun/repositories/${repo#team/}.hooks.toml"
done
echo "nix-check: activation: installed into web.git and app.git (created)"
for unit in hookrun-repo-web hookrun-repo-app; do
  out=$(run_unit $unit 2>&1) || fail "$unit failed the second time: $out"
  [ "$(grep -c 'already installed' <<<"$out")" = 2 ] || fail "$unit the second time: want both hooks already installed, got: $out"
done
echo "nix-check: activation: a second run changes nothing (both hooks already installed)"
hook=$root/srv/git/web.git/hooks/post-receive
rm "$hook" && printf '#!/bin/sh\necho mine\n' >"$hook" && chmod 0755 "$hook"
if out=$(run_unit hookrun-repo-web 2>&1); then fail "web with a foreign post-receive: the unit succeeded: $out"; fi
grep -qF "a different post-receive hook exists: $hook is a file; keep it running after hookrun with --chain, or replace it with --force" <<<"$out" || fail "web with a foreign hook, unexpected message: $out"
[ "$(cat "$hook")" = "$(printf '#!/bin/sh\necho mine')" ] || fail "web's foreign hook changed"
echo "nix-check: activation: web's foreign post-receive kept, its unit fails saying so"
hook=$root/srv/git/team/app.git/hooks/post-receive
rm "$hook" && printf '#!/bin/sh\necho mine\n' >"$hook" && chmod 0755 "$hook"
out=$(run_unit hookrun-repo-app 2>&1) || fail "app (force = true) with a foreign post-receive failed: $out"
expect_hook "$hook" "$root/run/current-system/sw/bin/hookrun-hook"
backup=$(ls "$hook".hookrun-backup-*) && [ "$(cat "$backup")" = "$(printf '#!/bin/sh\necho mine')" ] || fail "app's foreign hook not kept as a backup: $out"
echo "nix-check: activation: app's foreign post-receive replaced (force = true), kept as $(basename "$backup")"
unset HOOKRUN_CONFIG

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
