# The seed's own setup (SPEC §1, docs/nixos.md): one repository whose pushes
# build a gitmal site of main with a theme, forward a build to another host,
# deploy main to production and develop to staging, each job type notifying its
# own ntfy topic. On a real host `root` is "" (check.sh points it at a temp
# directory holding the scripts, the gitmal binary and the token file).
{ pkgs, root, ... }:
{
  services.hookrun = {
    enable = true;
    settings = {
      defaults = {
        timeout = "30m";
        cpu_quota = "50%";
        memory_max = "512M";
      };
      notify = {
        server = "https://ntfy.example.com";
        topic = "git";
        token_file = "${root}/run/secrets/ntfy-token";
        on = [
          "success"
          "failure"
        ];
      };
    };
    repositories.web.settings = {
      jobs = {
        site = {
          type = "gitmal";
          gitmal = "${pkgs.gitmal}/bin/gitmal";
          theme = "github"; # the seed's "github-light" is not a gitmal theme
          output = "/srv/www/git/{repo}";
          per = "push";
          concurrency = "coalesce";
          topic = "git-sites";
        };
        build = {
          type = "forward-build";
          host = "builder@aomi";
          path = "/home/builder/src/{repo}";
          command = [
            "make"
            "build"
          ];
          timeout = "1h";
          topic = "git-builds";
        };
        deploy-production = {
          type = "deploy";
          script = "${root}/etc/git-hooks/deploy-production.sh";
          args = [
            "{branch}"
            "{new}"
          ];
          memory_max = "1G";
          concurrency = "queue";
          topic = "deployments";
        };
        deploy-staging = {
          type = "deploy";
          script = "${root}/etc/git-hooks/deploy-staging.sh";
          args = [
            "{branch}"
            "{new}"
          ];
          concurrency = "queue";
          topic = "deployments";
        };
      };
      rules = [
        {
          name = "main: site, build, production";
          branches = [ "main" ];
          jobs = [
            "site"
            "build"
            "deploy-production"
          ];
        }
        {
          name = "develop: build, staging";
          branches = [ "develop" ];
          jobs = [
            "build"
            "deploy-staging"
          ];
        }
      ];
    };
  };
}
