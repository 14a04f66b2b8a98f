# Push policies: a server-wide one every repository inherits, and a
# repository's own, with a check job (docs/policy.md). The repository is
# created if missing, and an existing foreign hook is replaced (kept as a
# backup).
{ root, ... }:
{
  services.hookrun = {
    enable = true;
    settings.policy = [
      {
        name = "dco";
        branches = [
          "main"
          "release/*"
        ];
        signed_off = true;
        message = "sign off your commits: git commit -s";
      }
    ];
    repositories.app = {
      path = "/srv/git/team/app.git";
      create = true;
      force = true;
      settings = {
        jobs.lint-commits = {
          type = "command";
          command = [
            "${root}/bin/commitlint-range"
            "{old}"
            "{new}"
          ];
          timeout = "10s";
          memory_max = "256M";
          no_new_privileges = true;
        };
        policy = [
          {
            name = "protect-main";
            branches = [
              "main"
              "release/*"
            ];
            deny = [
              "force"
              "delete"
            ];
            message = "main and release branches are protected; open a merge request";
          }
          {
            name = "files";
            branches = [ "**" ];
            max_file_size = "5M";
            file_names_deny = [
              "(^|/)\\.env$"
              "\\.(exe|dll|jar|pem|p12)$"
            ];
            secrets = true;
            message = "keep binaries, keys and credentials out of git";
          }
          {
            name = "commitlint";
            branches = [ "main" ];
            check = "lint-commits";
          }
        ];
      };
    };
  };
}
