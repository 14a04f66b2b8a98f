# Evaluates nix/module.nix with a configuration (a list of modules) against
# the stubs; gives the whole config and the messages of failed assertions.
{ lib, root }:
modules:
let
  config =
    (lib.evalModules {
      modules = [
        (import ./stubs.nix { inherit root; })
        ../module.nix
      ]
      ++ modules;
    }).config;
in
{
  inherit config;
  failed = map (a: a.message) (builtins.filter (a: !a.assertion) config.assertions);
}
