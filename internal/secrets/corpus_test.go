package secrets

import (
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// The corpus: secrets in their real formats, generated here from a fixed
// seed (none is a live credential; literal prefixes are split so this file
// holds no token verbatim), each in the kind of file it leaks from, and
// harmless look-alikes that must not be refused. TestCorpus checks the
// scanner against it; HOOKRUN_SECRETS_CORPUS=DIR writes it to DIR (one file
// per case, true/ and false/) to run real gitleaks on the same files
// (docs/policy.md has the side-by-side numbers).

const (
	upper  = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	lowerc = "abcdefghijklmnopqrstuvwxyz"
	digits = "0123456789"
	alnum  = upper + lowerc + digits
	hexd   = "0123456789abcdef"
	b32    = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
	b64    = alnum + "+/"
	urlb64 = alnum + "-_"
	bech32 = "QPZRY9X8GF2TVDW0S3JN54KHCE6MUA7L"
)

type corpusCase struct {
	name, file, content string
	rule                string // rule expected to find it; "" for a look-alike that must pass
}

// parity names the cases gitleaks v8.28.0 gets wrong (misses the secret or
// flags the look-alike), as this scanner does, by design: the same
// verdicts on the server as on a developer's machine.
var parity = map[string]bool{"password-in-config": true, "stripe-test-key": true}

func corpus() []corpusCase {
	rng := rand.New(rand.NewPCG(20, 2026))
	r := func(alphabet string, n int) string {
		b := make([]byte, n)
		for i := range b {
			b[i] = alphabet[rng.IntN(len(alphabet))]
		}
		return string(b)
	}
	jwt := "ey" + "JhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9." + "ey" + "JzdWIiOiI" + r(alnum, 40) + "." + r(urlb64, 43)
	pem := func(kind string) string {
		var lines []string
		for range 12 {
			lines = append(lines, r(b64, 64))
		}
		return "-----BEGIN " + kind + "-----\n" + strings.Join(lines, "\n") + "\n" + r(b64, 20) + "==\n-----END " + kind + "-----\n"
	}
	return []corpusCase{
		{"aws-access-key-id", "deploy/.env", "AWS_ACCESS_KEY_ID=" + "AKIA" + r(b32, 16) + "\n", "aws-access-token"},
		{"aws-temporary-key-id", "creds.ini", "[default]\naws_access_key_id = " + "ASIA" + r(b32, 16) + "\n", "aws-access-token"},
		{"aws-secret-access-key", "creds.ini", "[default]\naws_secret_access_key = " + r(b64, 40) + "\n", "generic-api-key"},
		{"github-pat", "scripts/release.sh", "export GITHUB_TOKEN=" + "ghp_" + r(alnum, 36) + "\n", "github-pat"},
		{"github-fine-grained-pat", "ci.yml", "token: " + "github_pat_" + r(alnum, 22) + "_" + r(alnum, 59) + "\n", "github-fine-grained-pat"},
		{"github-oauth", "app.json", `{"oauth": "` + "gho_" + r(alnum, 36) + `"}` + "\n", "github-oauth"},
		{"gitlab-pat-dash", "ci.env", "GITLAB_TOKEN=" + "glpat-" + r(urlb64, 19) + "-\n", "gitlab-pat"},
		{"gitlab-pat-underscore", "ci.env", "GITLAB_TOKEN=" + "glpat-" + r(urlb64, 19) + "_\n", "gitlab-pat"},
		{"slack-bot-token", "bot.py", `SLACK_TOKEN = "` + "xox" + "b-" + r(digits, 12) + "-" + r(digits, 13) + "-" + r(alnum, 24) + `"` + "\n", "slack-bot-token"},
		{"slack-webhook", "notify.sh", "curl -X POST https://" + "hooks.slack.com/services/T" + r(upper+digits, 8) + "/B" + r(upper+digits, 10) + "/" + r(alnum, 24) + " -d @msg.json\n", "slack-webhook-url"},
		{"jwt", "test/request.http", "Authorization: Bearer " + jwt + "\n", "jwt"},
		{"sendgrid", "mail.js", `const key = "` + "SG." + r(urlb64, 22) + "." + r(urlb64, 43) + `";` + "\n", "sendgrid-api-token"},
		{"openai", "ai.py", `client = OpenAI(api_key="` + "sk-proj-" + r(urlb64, 74) + "T3Blbk" + "FJ" + r(urlb64, 74) + `")` + "\n", "openai-api-key"},
		{"anthropic", "ai.env", "ANTHROPIC_API_KEY=" + "sk-ant-" + "api03-" + r(urlb64, 93) + "AA\n", "anthropic-api-key"},
		{"twilio", "sms.rb", `TWILIO_KEY = "` + "SK" + r(hexd, 32) + `"` + "\n", "twilio-api-key"},
		{"vault-token", "vault.sh", "export VAULT_TOKEN=" + "hvs." + r(urlb64, 94) + "\n", "vault-service-token"},
		{"digitalocean-pat", "do.tf", `token = "` + "dop_" + "v1_" + r(hexd, 64) + `"` + "\n", "digitalocean-pat"},
		{"shopify", "shop.env", "SHOPIFY_TOKEN=" + "shpat_" + r(hexd, 32) + "\n", "shopify-access-token"},
		{"age-secret-key", "keys.txt", "# created: 2026-01-01\n" + "AGE-SECRET-" + "KEY-1" + r(bech32, 58) + "\n", "age-secret-key"},
		{"telegram-bot", "bot.env", "TELEGRAM_BOT_TOKEN=" + r(digits, 10) + ":A" + r(urlb64, 34) + "\n", "telegram-bot-api-token"},
		{"stripe-live", "pay.js", `const stripe = require("stripe")("` + "sk_" + "live_" + r(alnum, 24) + `");` + "\n", "stripe-access-token"},
		{"google-api-key", "maps.html", `<script src="https://maps.googleapis.com/maps/api/js?key=` + "AIza" + r(urlb64, 35) + `"></script>` + "\n", "gcp-api-key"},
		{"npm-token", ".npmrc", "//registry.npmjs.org/:_authToken=" + "npm_" + r(alnum, 36) + "\n", "npm-access-token"},
		{"pypi-token", ".pypirc", "[pypi]\nusername = __token__\npassword = " + "pypi-" + "AgEIcHlwaS5vcmc" + r(urlb64, 60) + "\n", "pypi-upload-token"},
		{"rsa-private-key", "id_rsa", pem("RSA PRIVATE KEY"), "private-key"},
		{"openssh-private-key", "deploy/id_ed25519", pem("OPENSSH PRIVATE KEY"), "private-key"},
		{"terraform-cloud", "main.tf", `token = "` + r(lowerc+digits, 14) + ".atlas" + "v1." + r(lowerc+digits, 67) + `"` + "\n", "hashicorp-tf-api-token"},
		{"heroku", "Procfile.env", "HEROKU_API_KEY=" + "HRKU-" + "AA" + r(urlb64, 58) + "\n", "heroku-api-key-v2"},
		{"password-in-config", "config/database.yml", "production:\n  password: \"" + r(alnum, 12) + "!" + r(alnum, 8) + "\"\n", "generic-api-key"},
		{"sentry-user-token", "sentry.properties", "auth.token=" + "sntryu_" + r(hexd, 64) + "\n", "sentry-user-token"},

		// Harmless look-alikes.
		{"aws-doc-example", "README.md", "aws_access_key_id = " + "AKIA" + "IOSFODNN7EXAMPLE\naws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY\n", ""},
		{"github-placeholder", "docs/setup.md", "export GITHUB_TOKEN=" + "ghp_" + strings.Repeat("x", 36) + "\n", ""},
		{"slack-placeholder", "docs/slack.md", "SLACK_TOKEN=" + "xox" + "b-your-token-here\n", ""},
		{"pem-prose", "docs/keys.md", "Paste the key, starting with the line -----BEGIN " + "RSA PRIVATE KEY----- and ending with its END line, into the form.\n", ""},
		{"public-key", "keys/server.pub", pem("PUBLIC KEY"), ""},
		{"ssh-public-key", "authorized_keys", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI" + r(b64, 43) + " deploy@ci\n", ""},
		{"regex-in-code", "scan.go", "var ghToken = regexp.MustCompile(`" + "ghp_" + "[A-Za-z0-9]{36}`)\nvar awsKey = regexp.MustCompile(`" + "AKIA" + "[0-9A-Z]{16}`)\n", ""},
		{"sha256-hashes", "checksums.txt", r(hexd, 64) + "  hookrun-linux-amd64\n" + r(hexd, 64) + "  hookrun-linux-arm64\n", ""},
		{"git-commit-ids", "CHANGELOG.md", "- fix the parser (" + r(hexd, 40) + ")\n- speed up scans (" + r(hexd, 40) + ")\n", ""},
		{"env-placeholder", "config.toml", "api_key = \"${API_KEY}\"\npassword = \"<your password>\"\n", ""},
		{"uuid", "ids.json", `{"request_id": "` + r(hexd, 8) + "-" + r(hexd, 4) + "-4" + r(hexd, 3) + "-a" + r(hexd, 3) + "-" + r(hexd, 12) + `"}` + "\n", ""},
		{"stripe-test-key", "test/pay_test.js", `const stripe = require("stripe")("` + "sk_" + "test_" + r(alnum, 24) + `");` + "\n", ""},
		{"go-sum", "go.sum", "github.com/BurntSushi/toml v1.6.0 h1:" + r(b64, 43) + "=\n", ""},
	}
}

func TestCorpus(t *testing.T) {
	cases := corpus()
	if dir := os.Getenv("HOOKRUN_SECRETS_CORPUS"); dir != "" {
		for _, c := range cases {
			sub := "false"
			if c.rule != "" {
				sub = "true"
			}
			p := filepath.Join(dir, sub, c.name, c.file)
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, []byte(c.content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	caught, flagged, secrets := 0, 0, 0
	for _, c := range cases {
		fs := scanAll(t, Default(), c.content, c.file)
		if c.rule == "" {
			if len(fs) > 0 {
				flagged++
			}
			if (len(fs) > 0) != parity[c.name] {
				t.Errorf("%s: look-alike: findings %+v, want flagged %v (as gitleaks)", c.name, fs, parity[c.name])
			}
			continue
		}
		secrets++
		found := false
		for _, f := range fs {
			found = found || f.RuleID == c.rule
		}
		if found {
			caught++
		}
		if found == parity[c.name] {
			t.Errorf("%s: %s found %v, want %v (as gitleaks); findings %+v", c.name, c.rule, found, !parity[c.name], fs)
		}
	}
	t.Logf("caught %d of %d secrets; flagged %d of %d look-alikes", caught, secrets, flagged, len(cases)-secrets)
}
