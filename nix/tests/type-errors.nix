# Configurations with a value of the wrong type. check.sh evaluates each case
# and expects the evaluation to fail with the Nix module system's own message
# naming the option and the type it wants.
{
  case,
  root ? "/nonexistent",
  lib ? import ../../../shared/nixpkgs-lib/lib,
}:
let
  evalConfig = import ./eval.nix { inherit lib root; };
  cases = {
    user-number = [
      ./seed.nix
      { services.hookrun.user = 42; }
    ];
    reconcile-string = [
      ./seed.nix
      { services.hookrun.reconcile.enable = "yes"; }
    ];
    setting-null = [
      ./seed.nix
      { services.hookrun.repositories.web.settings.jobs.site.timeout = null; }
    ];
    path-number = [
      ./seed.nix
      { services.hookrun.repositories.web.path = 7; }
    ];
  };
  config = (evalConfig cases.${case}).config;
in
{
  inherit (config) environment systemd users;
}
