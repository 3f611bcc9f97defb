package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"
	"github.com/opensym/sym/internal/awsauth"
	"github.com/opensym/sym/internal/connector"
	"github.com/opensym/sym/internal/server"
	"github.com/opensym/sym/internal/store"
	"github.com/opensym/sym/internal/web"
	"github.com/spf13/cobra"
)

func init() {
	var db, listen, org, logFormat, logLevel string
	var configFile, metricsToken, tlsCert, tlsKey string
	var insecureHTTP bool
	var maxTokenTTL, verifyInterval time.Duration
	var verify bool
	var publicURL string
	var oidc web.OIDCConfig
	var awsTimeout time.Duration
	var awsRate float64
	var slackOpt server.SlackOptions
	var reconcileEvery time.Duration
	var reconcileMode string
	var groupPaths string
	var allowBroad bool
	var allowedAccounts, allowedRuntimeRoles string
	var httpTimeouts server.HTTPTimeouts
	var shutdownTimeout time.Duration
	cmd := &cobra.Command{
		Use:   "server",
		Short: "Run the sym server (HTTP API, engine, de-escalation timer)",
		Long: `Run the sym server.

It keeps its state in a SQLite file (--db), serves the API on --listen
(loopback by default) and reaches AWS through the SDK's default credential
chain (AWS_PROFILE, AWS_ACCESS_KEY_ID, instance roles, ...; AWS_ENDPOINT_URL
points it at an emulator). SYM_ADMIN_TOKEN, when set, is accepted as an admin
bot token (or the token in the file $SYM_ADMIN_TOKEN_FILE names). SIGHUP
re-reads that file and --tls-cert/--tls-key (a renewed certificate), without
a restart; a file that does not load is refused and what is in use stays.

Before the first grant through a runtime (and every --verify-interval after), the server reads
the runtime connector role with IAM read calls and refuses to use it unless
it is exactly what the runtime-connector module promises (the check of
'sym connector verify'); it checks the sso-connector and lambda-connector
roles of aws_sso and aws_lambda strategies the same way before their first
grant, and the iam-connector role of an aws_iam strategy before it adds
anyone to a group (its policies must let it change membership of groups
under --allowed-group-paths only). Its own identity needs iam:GetRole,
ListAttachedRolePolicies, GetPolicy, GetPolicyVersion, ListRolePolicies and
GetRolePolicy for that; --verify-connectors=false turns the check off.
De-escalations never wait for it.

The web app is served on the same address (open the URL in a browser).
People sign in with a sym token, a one-time link ('sym users login-link'),
or single sign-on when --oidc-issuer is set: the ID token's verified email
names the sym user (unknown emails are refused, or created as members with
--oidc-auto-create). Register <public-url>/login/callback as the redirect
URI at the identity provider; the client secret is read from
$SYM_OIDC_CLIENT_SECRET unless --oidc-client-secret is given. Behind TLS,
set --public-url to the https address so cookies are Secure.

The Slack app runs when $SYM_SLACK_BOT_TOKEN and $SYM_SLACK_SIGNING_SECRET
(or the flags) are set: point the app's slash command /sym at
<public-url>/slack/commands and its interactivity at
<public-url>/slack/interactions, and declare the workspace with a
sym_integration of type slack (external_id = the team id). docs/web.md has
the steps.
At start and every --reconcile-interval it compares the members of every
group a target names with its grant ledger: it removes memberships it granted
that no open grant explains, re-adds an active grant's vanished membership
(one granted before a 'sym restore' ends its request instead), and reports
members it did not add (--reconcile=enforce removes those from groups under
/sym/). AWS calls made as connector roles are paced per account
(--aws-rate-limit) and each attempt gives up after --aws-timeout.

SIGINT or SIGTERM shut it down gracefully: it stops taking requests, gives
those in flight --shutdown-timeout to finish (then closes their
connections), gives grants and removals under way as long again, closes the
database and exits 0. Open grants are reloaded from the database at the next
start.`,
		Args: noArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if configFile != "" {
				if err := applyConfigFile(cmd, configFile); err != nil {
					return usageError{err}
				}
			}
			var level slog.Level
			switch strings.ToLower(logLevel) {
			case "debug":
				level = slog.LevelDebug
			case "info":
				level = slog.LevelInfo
			case "warn":
				level = slog.LevelWarn
			case "error":
				level = slog.LevelError
			default:
				return usageError{fmt.Errorf("--log-level must be debug, info, warn or error")}
			}
			var h slog.Handler
			hopt := &slog.HandlerOptions{Level: level}
			switch logFormat {
			case "json":
				h = slog.NewJSONHandler(os.Stderr, hopt)
			case "text":
				h = slog.NewTextHandler(os.Stderr, hopt)
			default:
				return usageError{fmt.Errorf("--log-format must be json or text")}
			}
			log := slog.New(h)
			tokenFile := os.Getenv("SYM_ADMIN_TOKEN_FILE")
			token, err := adminToken(tokenFile)
			if err != nil {
				return usageError{err}
			}
			if maxTokenTTL < 0 {
				return usageError{fmt.Errorf("--max-token-ttl must be positive (e.g. 720h) or 0 for no cap")}
			}
			if reconcileMode != "report" && reconcileMode != "enforce" {
				return usageError{fmt.Errorf("--reconcile must be report or enforce")}
			}
			if reconcileEvery < 0 {
				return usageError{fmt.Errorf("--reconcile-interval must be positive, or 0 to reconcile only when asked (sym reconcile)")}
			}
			if awsTimeout <= 0 {
				return usageError{fmt.Errorf("--aws-timeout must be positive (e.g. 10s)")}
			}
			if awsRate < 0 {
				return usageError{fmt.Errorf("--aws-rate-limit must be 0 (off) or a positive number of calls per second")}
			}
			if oidc.ClientSecret == "" {
				oidc.ClientSecret = os.Getenv("SYM_OIDC_CLIENT_SECRET")
			}
			if oidc.Issuer != "" && oidc.ClientID == "" {
				return usageError{fmt.Errorf("--oidc-client-id is required with --oidc-issuer")}
			}
			if oidc.Issuer == "" && (oidc.ClientID != "" || oidc.AutoCreate) {
				return usageError{fmt.Errorf("--oidc-client-id and --oidc-auto-create need --oidc-issuer")}
			}
			if slackOpt.BotToken == "" {
				slackOpt.BotToken = os.Getenv("SYM_SLACK_BOT_TOKEN")
			}
			if slackOpt.SigningSecret == "" {
				slackOpt.SigningSecret = os.Getenv("SYM_SLACK_SIGNING_SECRET")
			}
			if (slackOpt.BotToken == "") != (slackOpt.SigningSecret == "") {
				return usageError{fmt.Errorf("Slack needs both the bot token ($SYM_SLACK_BOT_TOKEN) and the signing secret ($SYM_SLACK_SIGNING_SECRET)")}
			}
			opt := server.Options{DB: db, Listen: listen, Org: org, Version: buildVersion(), AdminToken: token, Log: log, PublicURL: publicURL, OIDC: oidc, Slack: slackOpt,
				AWSTimeout: awsTimeout, AWSRate: awsRate, MaxTokenTTL: maxTokenTTL, MetricsToken: os.Getenv("SYM_METRICS_TOKEN"),
				TLSCert: tlsCert, TLSKey: tlsKey, InsecureHTTP: insecureHTTP}
			if metricsToken != "" {
				opt.MetricsToken = metricsToken
			}
			if opt.Guards.GroupPaths, err = awsauth.ParseGroupPaths(groupPaths); err != nil {
				return usageError{err}
			}
			opt.Guards.AllowBroadPolicies = allowBroad
			if opt.Guards.Accounts, err = awsauth.ParseAccounts(allowedAccounts); err != nil {
				return usageError{err}
			}
			if opt.Guards.RuntimeRoles, err = awsauth.ParseRolePatterns(allowedRuntimeRoles); err != nil {
				return usageError{err}
			}
			if verifyInterval <= 0 {
				return usageError{fmt.Errorf("--verify-interval must be positive (e.g. 5m)")}
			}
			opt.Engine.VerifyEvery = verifyInterval
			for name, d := range map[string]time.Duration{"--read-header-timeout": httpTimeouts.ReadHeader, "--read-timeout": httpTimeouts.Read,
				"--write-timeout": httpTimeouts.Write, "--idle-timeout": httpTimeouts.Idle} {
				if d <= 0 {
					return usageError{fmt.Errorf("%s must be positive (e.g. 30s)", name)}
				}
			}
			opt.HTTP = httpTimeouts
			if shutdownTimeout <= 0 {
				return usageError{fmt.Errorf("--shutdown-timeout must be positive (e.g. 20s)")}
			}
			opt.Engine.StopTimeout = shutdownTimeout
			if awsRate == 0 {
				opt.AWSRate = -1 // off
			}
			opt.Engine.ReconcileEvery, opt.Engine.ReconcileEnforce = reconcileEvery, reconcileMode == "enforce"
			if verify {
				opt.RuntimeVerifier = func(own aws.Config) func(context.Context, map[string]string) error {
					reader := iam.NewFromConfig(own)
					return func(ctx context.Context, settings map[string]string) error {
						_, err := connector.VerifyRuntimeWith(ctx, reader, settings, nil, opt.Guards)
						var ce *awsauth.CredentialsError
						if awsauth.IsCredentialsError(err) && !errors.As(err, &ce) {
							// Not a role that differs: the server cannot read it.
							return &awsauth.CredentialsError{Err: err}
						}
						return err
					}
				}
				opt.ConnectorVerifier = func(own aws.Config) func(context.Context, string, string, string) error {
					return connector.StrategyCheckWith(iam.NewFromConfig(own), opt.Guards)
				}
			}
			if strings.TrimSpace(org) == "" {
				return usageError{fmt.Errorf("--org must not be empty: it is the organisation name the Terraform provider's org must match (default %q)", "default")}
			}
			if err := opt.Check(); err != nil {
				return usageError{err}
			}
			// Files that hold a secret in clear: their owner's alone (a TLS
			// key may be its group's, ssl-cert's say).
			if tokenFile != "" {
				server.WarnOpenFile(log, "SYM_ADMIN_TOKEN_FILE, which holds the admin token,", tokenFile, 0o077)
			}
			if tlsKey != "" {
				server.WarnOpenFile(log, "the --tls-key file", tlsKey, 0o007)
			}
			if configFile != "" && configHoldsSecret(configFile) {
				server.WarnOpenFile(log, "the --config file, which sets a secret,", configFile, 0o077)
			}
			if token == "" {
				log.Warn("neither SYM_ADMIN_TOKEN nor SYM_ADMIN_TOKEN_FILE is set: only tokens issued earlier work; set one to create the first users")
			}
			// Signals are caught before the server starts: a SIGHUP sent
			// as soon as it listens re-reads the token instead of killing it.
			sig := make(chan os.Signal, 1)
			signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
			defer signal.Stop(sig)
			inst, err := server.Start(context.Background(), opt)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			fmt.Fprintf(out, "sym server %s listening on %s (org %s, database %s)\n", buildVersion(), inst.URL, org, db)
			if inst.AWSError != nil {
				fmt.Fprintf(out, "AWS identity: none usable (%v)\n", inst.AWSError)
			} else {
				fmt.Fprintf(out, "AWS identity: %s (the runtime connector role must trust %s)\n", inst.AWSIdentity.ARN, inst.AWSIdentity.PrincipalARN)
			}
		wait:
			for {
				select {
				case s := <-sig:
					if s == syscall.SIGHUP {
						// Rotate the admin token and a renewed TLS
						// certificate without a restart.
						tlsOn, err := inst.ReloadCertificate()
						switch {
						case err != nil:
							log.Error("SIGHUP: TLS certificate not re-read; the one in use stays", "err", err)
						case tlsOn:
							log.Info("SIGHUP: TLS certificate re-read", "file", tlsCert)
						}
						if tokenFile == "" {
							if !tlsOn {
								log.Warn("SIGHUP: no SYM_ADMIN_TOKEN_FILE to re-read")
							}
							continue
						}
						t, err := adminToken(tokenFile)
						if err != nil {
							log.Error("SIGHUP: admin token file not re-read; the old token stays", "err", err)
							continue
						}
						inst.SetAdminToken(t)
						log.Info("SIGHUP: admin token re-read", "file", tokenFile)
						continue
					}
					log.Info("shutting down", "signal", s.String())
					break wait
				case err := <-inst.Done():
					if err != nil {
						return err
					}
					break wait
				}
			}
			sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
			defer cancel()
			err = inst.Shutdown(sctx)
			if errors.Is(err, server.ErrRequestsCutOff) {
				// The stop asked for happened; the clients cut off retry.
				log.Warn("requests still in flight after --shutdown-timeout: their connections were closed", "shutdown_timeout", shutdownTimeout.String())
				err = nil
			}
			if err != nil {
				return err
			}
			log.Info("sym server stopped")
			return nil
		},
	}
	cmd.Flags().StringVar(&configFile, "config", "", "JSON file of flag values, keys named like the flags ({\"listen\": \"0.0.0.0:8420\", \"allowed-accounts\": \"...\"}); flags given on the command line win")
	cmd.Flags().DurationVar(&maxTokenTTL, "max-token-ttl", 90*24*time.Hour, "longest life of an issued API token (tokens default to 30 days, or this when shorter); 0 for no cap")
	cmd.Flags().StringVar(&metricsToken, "metrics-token", "", "bearer token /metrics requires (prefer $SYM_METRICS_TOKEN: flags show in ps); empty leaves /metrics open")
	cmd.Flags().DurationVar(&verifyInterval, "verify-interval", 5*time.Minute, "how long a passed runtime connector check is trusted before it runs again (at once after an AccessDenied or AssumeRole failure)")
	cmd.Flags().StringVar(&tlsCert, "tls-cert", "", "PEM certificate file: serve HTTPS (with --tls-key); re-read on SIGHUP")
	cmd.Flags().StringVar(&tlsKey, "tls-key", "", "PEM private key file for --tls-cert")
	cmd.Flags().BoolVar(&insecureHTTP, "insecure-http", false, "allow plain HTTP on a non-loopback --listen address (only behind a TLS-terminating proxy)")
	cmd.Flags().StringVar(&db, "db", store.DefaultPath(), "SQLite database file (created on first start)")
	cmd.Flags().StringVar(&listen, "listen", "127.0.0.1:8420", "address to serve the API on")
	cmd.Flags().StringVar(&org, "org", "default", "organisation name the Terraform provider's org must match")
	cmd.Flags().StringVar(&logFormat, "log-format", "json", "log format: json or text")
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "lowest level logged: debug (adds the reconciler's passes that changed nothing), info (adds a line per HTTP request), warn or error")
	cmd.Flags().BoolVar(&verify, "verify-connectors", true, "check the runtime and strategy connector roles against their modules (and the guard rails) before they are used")
	cmd.Flags().StringVar(&publicURL, "public-url", "", "URL browsers reach the server at, e.g. https://sym.example.com (default http://<listen address>)")
	cmd.Flags().StringVar(&oidc.Issuer, "oidc-issuer", "", "OpenID Connect issuer URL for web sign-in (e.g. https://accounts.google.com)")
	cmd.Flags().StringVar(&oidc.ClientID, "oidc-client-id", "", "OpenID Connect client id registered at the issuer")
	cmd.Flags().StringVar(&oidc.ClientSecret, "oidc-client-secret", "", "OpenID Connect client secret (prefer $SYM_OIDC_CLIENT_SECRET: flags show in ps)")
	cmd.Flags().BoolVar(&oidc.AutoCreate, "oidc-auto-create", false, "create a member for a verified email that has no sym user yet")
	cmd.Flags().DurationVar(&awsTimeout, "aws-timeout", awsauth.DefaultCallTimeout, "give up on any one attempt of an AWS call after this long (the SDK makes up to 5 attempts)")
	cmd.Flags().Float64Var(&awsRate, "aws-rate-limit", awsauth.DefaultRate, "AWS calls per second per account made as connector roles (grants, removals, reconciler together); 0 turns pacing off")
	cmd.Flags().StringVar(&slackOpt.BotToken, "slack-bot-token", "", "Slack bot token xoxb-... (prefer $SYM_SLACK_BOT_TOKEN: flags show in ps)")
	cmd.Flags().StringVar(&slackOpt.SigningSecret, "slack-signing-secret", "", "Slack signing secret (prefer $SYM_SLACK_SIGNING_SECRET)")
	cmd.Flags().StringVar(&slackOpt.APIURL, "slack-api-url", "", "Slack Web API base URL (default https://slack.com/api/)")
	cmd.Flags().DurationVar(&reconcileEvery, "reconcile-interval", time.Minute, "compare AWS group members with the grant ledger at start and this often (0: only on 'sym reconcile')")
	cmd.Flags().StringVar(&reconcileMode, "reconcile", "report", "members sym did not add: report (audit drift, leave them) or enforce (remove them from groups under /sym/)")
	cmd.Flags().StringVar(&groupPaths, "allowed-group-paths", awsauth.DefaultGroupPath, "comma list of IAM paths of the groups sym may add users to; a group elsewhere is refused at grant (GetGroup reads its path)")
	cmd.Flags().StringVar(&allowedAccounts, "allowed-accounts", "", "comma list of 12-digit AWS accounts sym may act in; entity writes and grants naming others are refused (empty: no limit beyond each runtime's safelist)")
	cmd.Flags().StringVar(&allowedRuntimeRoles, "allowed-runtime-roles", "", "comma list of runtime role ARN patterns (* wildcards), e.g. arn:aws:iam::123456789012:role/sym/*; other runtime roles are refused at write and before any AWS call")
	cmd.Flags().BoolVar(&allowBroad, "allow-broad-runtime-policies", false, "let a runtime's policy_arns name AWS-managed admin-level policies (AdministratorAccess*, PowerUserAccess, *FullAccess, job-function/*Administrator)")
	d := server.DefaultHTTPTimeouts
	cmd.Flags().DurationVar(&httpTimeouts.ReadHeader, "read-header-timeout", d.ReadHeader, "close a connection whose request headers take longer than this")
	cmd.Flags().DurationVar(&httpTimeouts.Read, "read-timeout", d.Read, "close a connection whose whole request (headers and body) takes longer than this")
	cmd.Flags().DurationVar(&httpTimeouts.Write, "write-timeout", d.Write, "give up writing an answer to a client that does not read it after this long (from the end of its request headers)")
	cmd.Flags().DurationVar(&httpTimeouts.Idle, "idle-timeout", d.Idle, "close a kept-alive connection that sends no new request for this long")
	cmd.Flags().DurationVar(&shutdownTimeout, "shutdown-timeout", 20*time.Second, "on SIGINT or SIGTERM, how long requests in flight may take to finish before their connections are closed (and then grants and removals under way)")
	root.AddCommand(cmd)
}
