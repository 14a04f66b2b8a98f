# The NixOS options that nix/module.nix sets, declared as stubs so that the
# module evaluates with nixpkgs' lib alone (no nixpkgs, no build). A stub
# accepts any value: the tests check the values that matter one by one.
# `root` prefixes the paths of the fake packages, so that check.sh can put
# executables there for `hookrun validate --strict`.
{ root }:
{ lib, ... }:
let
  inherit (lib) mkOption types;
  any = default: mkOption {
    type = types.anything;
    inherit default;
  };
  fakePackage = name: {
    type = "derivation";
    inherit name;
    outPath = "${root}/pkgs/${name}";
  };
in
{
  options = {
    assertions = mkOption {
      type = types.listOf types.unspecified;
      default = [ ];
    };
    warnings = mkOption {
      type = types.listOf types.str;
      default = [ ];
    };
    environment.etc = any { };
    environment.systemPackages = mkOption {
      type = types.listOf types.unspecified;
      default = [ ];
    };
    users.users = any { };
    users.groups = any { };
    systemd.services = any { };
    systemd.user.services = any { };
    systemd.user.timers = any { };
    security.polkit.enable = mkOption {
      type = types.bool;
      default = false;
    };
    security.polkit.extraConfig = mkOption {
      type = types.lines;
      default = "";
    };
  };
  config._module.args = {
    inherit root;
    pkgs = {
      stdenv.hostPlatform.system = "x86_64-linux";
      hookrun = fakePackage "hookrun";
      git = fakePackage "git";
      coreutils = fakePackage "coreutils";
      gitmal = fakePackage "gitmal";
    };
  };
}
