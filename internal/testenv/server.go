package testenv

import (
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/opensym/sym/internal/api"
	"github.com/opensym/sym/internal/awsauth"
	"github.com/opensym/sym/internal/engine"
	"github.com/opensym/sym/internal/logdest"
	"github.com/opensym/sym/internal/server"
	"github.com/opensym/sym/internal/web"
)

// Server is a sym server running in the test process on a temp SQLite file.
type Server struct {
	URL        string // base URL; the API is under /api/v1
	AdminToken string // accepted as the admin bot (SYM_ADMIN_TOKEN)
	DB         string
	*server.Instance
	logs *logCapture
}

// ServerOptions tune StartServerWith.
type ServerOptions struct {
	Org string
	// Moto, when set, points the server's AWS calls at it.
	Moto   *Moto
	DB     string // default: a new file in the test's temp dir
	Engine engine.Options
	// AWSRate is server.Options.AWSRate (0: the server's default).
	AWSRate float64
	// AWSEndpoint, when set, replaces moto's URL as the server's AWS
	// endpoint (a fault-injecting proxy in front of moto, say).
	AWSEndpoint string
	// Verbose sends the server's log to the test log.
	Verbose bool
	// LogTo, when set, receives the server's log too (for scanning it).
	LogTo io.Writer
	// Rates limit request creation and token issuing per token.
	Rates api.Rates
	// MaxTokenTTL and MetricsToken as the server flags.
	MaxTokenTTL  time.Duration
	MetricsToken string
	// RuntimeVerifier turns on the runtime connector check (off by default
	// here: the fixture's roles are not made by the modules).
	RuntimeVerifier func(own aws.Config) func(ctx context.Context, settings map[string]string) error
	// OIDC turns on the web app's single sign-on.
	OIDC web.OIDCConfig
	// Delivery tunes the log destination workers (quick back-off, say).
	Delivery logdest.Options
	// Slack turns on the Slack app.
	Slack server.SlackOptions
	// ConnectorVerifier turns on the aws_sso and aws_lambda connector check.
	ConnectorVerifier func(own aws.Config) func(ctx context.Context, strategyType, runtimeRoleARN, roleARN string) error
	// SSOPollInterval and LambdaTimeout: see server.Options.
	SSOPollInterval, LambdaTimeout time.Duration
	// Guards are the server's guard rails (--allowed-group-paths, ...).
	Guards awsauth.Guards
}

// StartServer starts a sym server for org "default" with no AWS.
func StartServer(tb testing.TB) *Server { return StartServerWith(tb, ServerOptions{}) }

// StartServerWith starts a sym server and stops it when the test ends.
func StartServerWith(tb testing.TB, o ServerOptions) *Server {
	tb.Helper()
	if o.DB == "" {
		o.DB = filepath.Join(tb.TempDir(), "sym.db")
	}
	if o.Org == "" {
		o.Org = "default"
	}
	token := api.NewToken()
	var logOut io.Writer = io.Discard
	if o.Verbose || os.Getenv("SYM_TEST_VERBOSE") != "" {
		logOut = tbWriter{tb}
	}
	if o.LogTo != nil {
		logOut = io.MultiWriter(logOut, o.LogTo)
	}
	logs := &logCapture{secrets: map[string]string{token: "the admin token", FixtureExternalID: "the fixture's External ID"}}
	logOut = io.MultiWriter(logOut, logs)
	opt := server.Options{DB: o.DB, Listen: "127.0.0.1:0", Org: o.Org, AdminToken: token,
		Log: slog.New(slog.NewTextHandler(logOut, nil)), Engine: o.Engine, RuntimeVerifier: o.RuntimeVerifier, OIDC: o.OIDC,
		AWSRate: o.AWSRate, Delivery: o.Delivery, Slack: o.Slack, SSOPollInterval: o.SSOPollInterval, LambdaTimeout: o.LambdaTimeout,
		ConnectorVerifier: o.ConnectorVerifier, Rates: o.Rates, MaxTokenTTL: o.MaxTokenTTL, MetricsToken: o.MetricsToken, Guards: o.Guards}
	if o.Moto != nil {
		cfg := o.Moto.AWSConfig(tb)
		if o.AWSEndpoint != "" {
			cfg = AWSConfigAt(tb, o.AWSEndpoint)
		}
		// Retries as the server makes them in production.
		cfg.Retryer = awsauth.Retryer
		opt.AWS = &cfg
	} else {
		cfg := aws.Config{Region: "us-east-1"}
		opt.AWS = &cfg
	}
	inst, err := server.Start(context.Background(), opt)
	if err != nil {
		tb.Fatalf("start sym server: %v", err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = inst.Shutdown(ctx)
		logs.scan(tb)
	})
	return &Server{URL: inst.URL, AdminToken: token, DB: o.DB, Instance: inst, logs: logs}
}

type tbWriter struct{ tb testing.TB }

func (w tbWriter) Write(p []byte) (int, error) {
	w.tb.Log(string(p))
	return len(p), nil
}
