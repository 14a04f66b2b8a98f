# hookrun built with nixpkgs' buildGoModule. Not built by this project's CI
# (no nixpkgs or binary cache there; `make nix-check` only evaluates): see
# docs/nixos.md for how vendorHash is filled in on a machine with Nix.
{
  lib,
  buildGoModule,
  version ? "dev",
}:
buildGoModule {
  pname = "hookrun";
  inherit version;

  # Only what the binary is built from: a change to docs/ or nix/ does not
  # rebuild it.
  src = lib.fileset.toSource {
    root = ../.;
    fileset = lib.fileset.unions [
      ../go.mod
      ../go.sum
      ../cmd
      ../internal
      ../schema
    ];
  };

  # The hash of the vendored Go modules; lib.fakeHash makes the first build
  # fail and print the real one ("got: sha256-..."), see docs/nixos.md.
  vendorHash = lib.fakeHash;

  # hookrun, and hookrun-hook, the small program post-receive runs (a quicker
  # start on every push; `hookrun install` names it when it sits beside hookrun).
  subPackages = [
    "cmd/hookrun"
    "cmd/hookrun-hook"
  ];
  # Static, as `make build`: no cgo (faster start of every hook run).
  env.CGO_ENABLED = 0;
  ldflags = [
    "-s"
    "-w"
    "-X main.Version=${version}"
  ];

  # The tests need a systemd user manager, sshd, gitmal and ntfy: they run in
  # the project's CI (.ci/run), not in the sandbox.
  doCheck = false;

  # The JSON schema that generated hooks.toml files name in their #:schema
  # line, and the man pages (as `make install`).
  postInstall = ''
    install -D -m 0644 schema/hooks.schema.json $out/share/hookrun/hooks.schema.json
    $out/bin/hookrun man $TMPDIR/man
    install -D -m 0644 -t $out/share/man/man1 $TMPDIR/man/*.1
  '';

  meta = {
    description = "Run jobs in systemd transient units on git push, with ntfy notifications";
    homepage = "https://github.com/hookrun/hookrun";
    mainProgram = "hookrun";
    platforms = lib.platforms.linux;
  };
}
