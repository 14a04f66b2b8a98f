{
  description = "hookrun: run jobs in systemd transient units on git push";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs =
    { self, nixpkgs }:
    let
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      forAllSystems = f: nixpkgs.lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
      version = self.shortRev or self.dirtyShortRev or "dev";
    in
    {
      packages = forAllSystems (pkgs: rec {
        hookrun = pkgs.callPackage ./nix/package.nix { inherit version; };
        default = hookrun;
      });

      # services.hookrun, its package defaulting to this flake's.
      nixosModules.default =
        { lib, pkgs, ... }:
        {
          imports = [ ./nix/module.nix ];
          services.hookrun.package = lib.mkDefault self.packages.${pkgs.stdenv.hostPlatform.system}.default;
        };
      nixosModules.hookrun = self.nixosModules.default;

      overlays.default = final: prev: {
        hookrun = final.callPackage ./nix/package.nix { inherit version; };
      };
    };
}
