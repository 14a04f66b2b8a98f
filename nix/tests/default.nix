# `make nix-check` (nix/tests/check.sh) evaluates this file with
#   nix-instantiate --eval --strict --argstr root DIR nix/tests
# It checks the units, accounts and assertions that nix/module.nix declares,
# by value, for each configuration below, and throws naming every check that
# failed. `files` are the TOML files the configurations generate, which
# check.sh writes under DIR and runs `hookrun validate --strict` on.
{
  root ? "/nonexistent",
  lib ? import ../../../shared/nixpkgs-lib/lib,
}:
let
  evalConfig = import ./eval.nix { inherit lib root; };
  hookrun = "/run/current-system/sw/bin/hookrun";
  schemaLine = "#:schema ${root}/pkgs/hookrun/share/hookrun/hooks.schema.json\n";

  seed = evalConfig [ ./seed.nix ];
  policy = evalConfig [ ./policy.nix ];

  # manager = "system" needs a polkit rule unless the hooks run as root.
  systemJobs = extra: evalConfig [
    ./seed.nix
    { services.hookrun.repositories.web.settings.jobs.build.manager = "system"; }
    extra
  ];
  systemNoRule = systemJobs { };
  systemGranted = systemJobs { services.hookrun.grantSystemManager = true; };
  systemAsRoot = systemJobs { services.hookrun.user = "root"; };
  systemInDefaults = evalConfig [
    ./seed.nix
    {
      services.hookrun.settings.defaults = {
        manager = "system";
        user = "git";
      };
    }
  ];
  systemOwnRule = evalConfig [
    ./seed.nix
    { services.hookrun.settings.defaults.manager = "system"; }
    {
      security.polkit.enable = true;
      security.polkit.extraConfig = ''polkit.addRule(function(action, subject) { if (action.id == "org.freedesktop.systemd1.manage-units" && subject.user == "git") return polkit.Result.YES; });'';
    }
  ];

  # Secrets by file path only.
  inlineToken = evalConfig [
    ./seed.nix
    { services.hookrun.settings.notify.token = "tk_inline"; }
  ];
  inlineEnvSecret = evalConfig [
    ./seed.nix
    { services.hookrun.repositories.web.settings.jobs.build.environment.API_TOKEN = "s3cret"; }
  ];
  tokenFileInStore = evalConfig [
    ./seed.nix
    { services.hookrun.settings.notify.token_file = lib.mkForce "${builtins.storeDir}/abc-ntfy-token"; }
  ];
  tokenFileAsNixPath = evalConfig [
    ./seed.nix
    { services.hookrun.settings.notify.token_file = lib.mkForce ./seed.nix; }
  ];

  badName = evalConfig [ { services.hookrun = { enable = true; repositories."a b".path = "/srv/git/ab.git"; }; } ];
  badPath = evalConfig [ { services.hookrun = { enable = true; repositories.ab.path = "srv/git/ab.git"; }; } ];
  noReconcile = evalConfig [
    ./seed.nix
    { services.hookrun.reconcile.enable = false; }
  ];
  disabled = evalConfig [ { services.hookrun.repositories.web = { }; } ];

  # flake.nix, its nixpkgs input replaced by lib and a buildGoModule that
  # returns its arguments.
  flakeFile = import ../../flake.nix;
  fakeNixpkgs = {
    inherit lib;
    legacyPackages = lib.genAttrs [ "x86_64-linux" "aarch64-linux" ] (system: {
      callPackage =
        fn: args:
        import fn (
          {
            inherit lib;
            buildGoModule =
              a:
              a
              // {
                type = "derivation";
                name = "${a.pname}-${a.version}";
                outPath = "${root}/pkgs/built-hookrun";
              };
          }
          // args
        );
    });
  };
  flake = flakeFile.outputs {
    self = flake // {
      shortRev = "abc1234";
    };
    nixpkgs = fakeNixpkgs;
  };
  built = flake.packages.x86_64-linux.default;
  viaFlake = evalConfig [
    flake.nixosModules.default
    ./seed.nix
  ];

  # The repository units of seed + policy, their repositories under root, for
  # check.sh to run their ExecStart lines for real. Each line is parsed back
  # into argv as systemd would (JSON-style quotes, %% and $$), which also
  # checks the quoting; /run/current-system/sw and /etc/hookrun, which
  # activation provides, are mapped under root.
  activationConfig = evalConfig [
    ./seed.nix
    ./policy.nix
    {
      services.hookrun.repositories.web.path = "${root}/srv/git/web.git";
      services.hookrun.repositories.app.path = lib.mkForce "${root}/srv/git/team/app.git";
    }
  ];
  execArgv =
    line:
    let
      m = builtins.match "([^ \"]+) (.*)" line;
      args = builtins.fromJSON "[${builtins.replaceStrings [ ''" "'' ] [ ''", "'' ] (builtins.elemAt m 1)}]";
    in
    [ (builtins.elemAt m 0) ] ++ map (builtins.replaceStrings [ "%%" "$$" ] [ "%" "$" ]) args;
  underRoot =
    a:
    if a == hookrun then
      "${root}/run/current-system/sw/bin/hookrun"
    else if lib.hasPrefix "/etc/hookrun/" a then
      root + a
    else
      a;
  activation = lib.mapAttrs (
    _: unit:
    lib.concatMapStrings (line: lib.concatStringsSep "\t" (map underRoot (execArgv line)) + "\n") unit.serviceConfig.ExecStart
  ) activationConfig.config.systemd.services;

  hasInfix = lib.hasInfix;
  toTOML = import ../toml.nix lib;
  # Control characters, quotes, backslashes, keys that need quoting, nesting.
  tomlSample = {
    version = 1;
    "a.b" = 1.5;
    "ü k" = "ü";
    neg = -3;
    mixed = [ 1 { a = [ ]; } ];
    s = "q\"b\\n\n\t\r" + builtins.fromJSON ''"\u0001\u0008\u000c\u001f\u007f"'';
    t.empty = { };
    t.sub.deeper.x = true;
    rules = [
      {
        jobs = [ "a" ];
        sub.x = 1;
      }
      { jobs = [ ]; }
    ];
  };
  anyFailed = e: pattern: lib.any (m: hasInfix pattern m) e.failed;

  # [ name actual expected ]
  checks = [
    # seed: accounts
    [ "seed: no failed assertion" seed.failed [ ] ]
    [ "seed: git lingers" seed.config.users.users.git.linger true ]
    [ "seed: git is a system user" seed.config.users.users.git.isSystemUser true ]
    [ "seed: git's group" seed.config.users.users.git.group "git" ]
    [ "seed: git's home" seed.config.users.users.git.home "/srv/git" ]
    [ "seed: group git" (seed.config.users.groups ? git) true ]
    [ "seed: hookrun and git on PATH" (map (p: p.outPath) seed.config.environment.systemPackages) [ "${root}/pkgs/hookrun" "${root}/pkgs/git" ] ]

    # seed: files
    [ "seed: hookrun.toml starts with its schema" (lib.hasPrefix schemaLine seed.config.environment.etc."hookrun/hookrun.toml".text) true ]
    [ "seed: web's hooks.toml starts with its schema" (lib.hasPrefix schemaLine seed.config.environment.etc."hookrun/repositories/web.hooks.toml".text) true ]
    [
      "seed: web's hooks.toml holds the settings"
      (builtins.fromTOML seed.config.environment.etc."hookrun/repositories/web.hooks.toml".text).jobs.site
      {
        type = "gitmal";
        gitmal = "${root}/pkgs/gitmal/bin/gitmal";
        theme = "github";
        output = "/srv/www/git/{repo}";
        per = "push";
        concurrency = "coalesce";
        topic = "git-sites";
      }
    ]
    [
      "seed: hookrun.toml's notify"
      (builtins.fromTOML seed.config.environment.etc."hookrun/hookrun.toml".text).notify.token_file
      "${root}/run/secrets/ntfy-token"
    ]

    # seed: the repository's install unit
    [ "seed: one unit per repository" (builtins.attrNames seed.config.systemd.services) [ "hookrun-repo-web" ] ]
    [ "seed: install unit's user" seed.config.systemd.services.hookrun-repo-web.serviceConfig.User "git" ]
    [ "seed: install unit's group" seed.config.systemd.services.hookrun-repo-web.serviceConfig.Group "git" ]
    [ "seed: install unit is a oneshot" seed.config.systemd.services.hookrun-repo-web.serviceConfig.Type "oneshot" ]
    [ "seed: install unit stays active" seed.config.systemd.services.hookrun-repo-web.serviceConfig.RemainAfterExit true ]
    [
      "seed: install unit's ExecStart"
      seed.config.systemd.services.hookrun-repo-web.serviceConfig.ExecStart
      [
        ''${hookrun} "validate" "/etc/hookrun/repositories/web.hooks.toml"''
        ''${root}/pkgs/coreutils/bin/ln "-sfnT" "/etc/hookrun/repositories/web.hooks.toml" "/srv/git/web.git/hooks.toml"''
        ''${hookrun} "install" "--no-timer" "/srv/git/web.git"''
      ]
    ]
    [ "seed: install unit runs at boot and switch" seed.config.systemd.services.hookrun-repo-web.wantedBy [ "multi-user.target" ] ]
    [ "seed: install unit after local file systems" seed.config.systemd.services.hookrun-repo-web.after [ "local-fs.target" ] ]
    [ "seed: install unit waits for the repository's mount" seed.config.systemd.services.hookrun-repo-web.unitConfig.RequiresMountsFor [ "/srv/git/web.git" ] ]
    [
      "seed: install unit restarts when hooks.toml changes"
      (builtins.elem (builtins.hashString "sha256" seed.config.environment.etc."hookrun/repositories/web.hooks.toml".text) seed.config.systemd.services.hookrun-repo-web.restartTriggers)
      true
    ]

    # seed: reconcile timer in git's user manager
    [
      "seed: reconcile's ExecStart"
      seed.config.systemd.user.services.hookrun-reconcile.serviceConfig.ExecStart
      [ ''${hookrun} "reconcile"'' ]
    ]
    [ "seed: reconcile runs for git only" seed.config.systemd.user.services.hookrun-reconcile.unitConfig.ConditionUser "git" ]
    [ "seed: reconcile timer for git only" seed.config.systemd.user.timers.hookrun-reconcile.unitConfig.ConditionUser "git" ]
    [ "seed: reconcile timer enabled" seed.config.systemd.user.timers.hookrun-reconcile.wantedBy [ "timers.target" ] ]
    [ "seed: reconcile interval" seed.config.systemd.user.timers.hookrun-reconcile.timerConfig.OnUnitActiveSec "2min" ]
    [ "reconcile.enable = false: no user units" (noReconcile.config.systemd.user.services == { } && noReconcile.config.systemd.user.timers == { }) true ]
    [ "seed: no polkit rule" seed.config.security.polkit.extraConfig "" ]

    # policy: created, forced, at a path of its own
    [ "policy: no failed assertion" policy.failed [ ] ]
    [
      "policy: install unit's ExecStart"
      policy.config.systemd.services.hookrun-repo-app.serviceConfig.ExecStart
      [
        ''${root}/pkgs/git/bin/git "init" "--bare" "--quiet" "/srv/git/team/app.git"''
        ''${hookrun} "validate" "/etc/hookrun/repositories/app.hooks.toml"''
        ''${root}/pkgs/coreutils/bin/ln "-sfnT" "/etc/hookrun/repositories/app.hooks.toml" "/srv/git/team/app.git/hooks.toml"''
        ''${hookrun} "install" "--no-timer" "--force" "/srv/git/team/app.git"''
      ]
    ]
    [
      "policy: [[policy]] tables in order"
      (map (p: p.name) (builtins.fromTOML policy.config.environment.etc."hookrun/repositories/app.hooks.toml".text).policy)
      [ "protect-main" "files" "commitlint" ]
    ]
    [
      "policy: regexes survive TOML quoting"
      (builtins.elemAt (builtins.fromTOML policy.config.environment.etc."hookrun/repositories/app.hooks.toml".text).policy 1).file_names_deny
      [ "(^|/)\\.env$" "\\.(exe|dll|jar|pem|p12)$" ]
    ]
    [ "policy: reconcile covers every installed repository" policy.config.systemd.user.services.hookrun-reconcile.serviceConfig.ExecStart [ ''${hookrun} "reconcile"'' ] ]

    # manager = "system"
    [ "system manager without a polkit rule fails" (anyFailed systemNoRule ''services.hookrun.repositories.web.settings.jobs.build.manager = "system", but the hooks run as "git"'') true ]
    [ "system manager failure names the way out" (anyFailed systemNoRule "grantSystemManager = true") true ]
    [ "system manager in defaults without a rule fails" (anyFailed systemInDefaults "services.hookrun.settings.defaults.manager") true ]
    [ "system manager granted: no failed assertion" systemGranted.failed [ ] ]
    [ "system manager granted: polkit on" systemGranted.config.security.polkit.enable true ]
    [ "system manager granted: the rule names git" (hasInfix ''subject.user == "git"'' systemGranted.config.security.polkit.extraConfig) true ]
    [ "system manager granted: the rule's action" (hasInfix ''action.id == "org.freedesktop.systemd1.manage-units"'' systemGranted.config.security.polkit.extraConfig) true ]
    [ "system manager with the hooks as root: no failed assertion" systemAsRoot.failed [ ] ]
    [ "system manager with the hooks as root: no git account" (systemAsRoot.config.users.users ? git) false ]
    [ "system manager with the hooks as root: root lingers" systemAsRoot.config.users.users.root.linger true ]
    [ "system manager with the admin's own rule: no failed assertion" systemOwnRule.failed [ ] ]

    # secrets
    [ "an inline token fails" (anyFailed inlineToken "services.hookrun.settings.notify.token holds a secret inline") true ]
    [ "an inline secret in a job's environment fails" (anyFailed inlineEnvSecret "jobs.build.environment.API_TOKEN holds a secret inline") true ]
    [ "a token_file in the store fails" (anyFailed tokenFileInStore "services.hookrun.settings.notify.token_file names a file in the Nix store") true ]
    [ "a token_file as a Nix path fails" (anyFailed tokenFileAsNixPath "services.hookrun.settings.notify.token_file names a file in the Nix store") true ]

    # repositories
    [ "a repository name with a space fails" (anyFailed badName ''repositories."a b": a repository's name may hold only'') true ]
    [ "a relative repository path fails" (anyFailed badPath ''"srv/git/ab.git" must be an absolute path'') true ]

    # flake.nix and nix/package.nix
    [ "flake: nixpkgs input" flakeFile.inputs.nixpkgs.url "github:NixOS/nixpkgs/nixos-unstable" ]
    [ "flake: packages for both systems" (builtins.attrNames flake.packages) [ "aarch64-linux" "x86_64-linux" ] ]
    [ "flake: packages.default is hookrun" (built == flake.packages.x86_64-linux.hookrun) true ]
    [ "package: name" built.name "hookrun-abc1234" ]
    [ "package: the two programs" built.subPackages [ "cmd/hookrun" "cmd/hookrun-hook" ] ]
    [ "package: static" built.env.CGO_ENABLED 0 ]
    [ "package: version in the binary" built.ldflags [ "-s" "-w" "-X main.Version=abc1234" ] ]
    [ "package: vendorHash is an SRI sha256 (lib.fakeHash until filled in)" (builtins.match "sha256-[A-Za-z0-9+/]{43}=" built.vendorHash != null) true ]
    [ "package: installs the schema" (hasInfix "$out/share/hookrun/hooks.schema.json" built.postInstall) true ]
    [ "package: hookrun is its main program" built.meta.mainProgram "hookrun" ]
    [ "flake: nixosModules.default evaluates" viaFlake.failed [ ] ]
    [ "flake: the module's package is the flake's" viaFlake.config.services.hookrun.package.outPath "${root}/pkgs/built-hookrun" ]
    [
      "flake: hooks.toml names the flake package's schema"
      (lib.hasPrefix "#:schema ${root}/pkgs/built-hookrun/share/hookrun/hooks.schema.json\n" viaFlake.config.environment.etc."hookrun/hookrun.toml".text)
      true
    ]
    [ "flake: nixosModules.hookrun too" (builtins.isFunction flake.nixosModules.hookrun) true ]

    # the quoting of ExecStart lines parses back
    [
      "ExecStart quoting round trip"
      (execArgv (builtins.elemAt (evalConfig [
        ./seed.nix
        { services.hookrun.repositories.web.path = "/srv/git/a \"b\" %i $HOME\\x.git"; }
      ]).config.systemd.services.hookrun-repo-web.serviceConfig.ExecStart 1))
      [ "${root}/pkgs/coreutils/bin/ln" "-sfnT" "/etc/hookrun/repositories/web.hooks.toml" "/srv/git/a \"b\" %i $HOME\\x.git/hooks.toml" ]
    ]
    [
      "ExecStart quoting of a hostile path"
      (execArgv (lib.last (evalConfig [
        ./seed.nix
        { services.hookrun.repositories.web.path = "/srv/git/a \"b\" %i $HOME\\x.git"; }
      ]).config.systemd.services.hookrun-repo-web.serviceConfig.ExecStart))
      [ hookrun "install" "--no-timer" "/srv/git/a \"b\" %i $HOME\\x.git" ]
    ]
    [
      "ExecStart escapes % and $ for systemd"
      (lib.last (evalConfig [
        ./seed.nix
        { services.hookrun.repositories.web.path = "/srv/git/%i$HOME.git"; }
      ]).config.systemd.services.hookrun-repo-web.serviceConfig.ExecStart)
      ''${hookrun} "install" "--no-timer" "/srv/git/%%i$$HOME.git"''
    ]
    [ "TOML round trip" (builtins.fromTOML (toTOML tomlSample)) tomlSample ]

    # disabled: nothing at all
    [ "disabled: no units" (disabled.config.systemd.services == { } && disabled.config.environment.etc == { } && disabled.config.users.users == { }) true ]
  ];

  failures = lib.concatMap (
    c:
    let
      name = builtins.elemAt c 0;
      got = builtins.elemAt c 1;
      want = builtins.elemAt c 2;
    in
    lib.optional (got != want) "${name}:\n  got:  ${builtins.toJSON got}\n  want: ${builtins.toJSON want}"
  ) checks;

  files = {
    "seed/hookrun.toml" = seed.config.environment.etc."hookrun/hookrun.toml".text;
    "seed/web.hooks.toml" = seed.config.environment.etc."hookrun/repositories/web.hooks.toml".text;
    "policy/hookrun.toml" = policy.config.environment.etc."hookrun/hookrun.toml".text;
    "policy/app.hooks.toml" = policy.config.environment.etc."hookrun/repositories/app.hooks.toml".text;
  };
in
if failures != [ ] then
  throw "nix-check: ${toString (builtins.length failures)} of ${toString (builtins.length checks)} checks failed:\n${lib.concatStringsSep "\n" failures}"
else
  {
    checked = builtins.length checks;
    inherit files activation;
    # /etc/hookrun of the activation run, by path below /etc/hookrun.
    activationEtc = lib.mapAttrs' (n: v: lib.nameValuePair (lib.removePrefix "hookrun/" n) v.text) activationConfig.config.environment.etc;
    names = builtins.attrNames files;
  }
