// Package server assembles a running sym server: the store, the AWS
// credential chain, the strategies, the engine and the HTTP API on a
// listener. cmd/sym and the tests start servers only through it.
package server

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io/fs"
	"log"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/opensym/sym/internal/api"
	"github.com/opensym/sym/internal/awsauth"
	"github.com/opensym/sym/internal/engine"
	"github.com/opensym/sym/internal/logdest"
	"github.com/opensym/sym/internal/secrets"
	"github.com/opensym/sym/internal/slack"
	"github.com/opensym/sym/internal/store"
	"github.com/opensym/sym/internal/strategy"
	"github.com/opensym/sym/internal/strategy/awsiam"
	"github.com/opensym/sym/internal/strategy/awslambda"
	"github.com/opensym/sym/internal/strategy/awssso"
	"github.com/opensym/sym/internal/web"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
)

// Options configure a server.
type Options struct {
	DB         string // SQLite file
	Listen     string // host:port; 127.0.0.1:0 picks a free port
	Org        string
	Version    string // sym's version, reported by GET /api/v1/server
	AdminToken string
	Log        *slog.Logger
	// AWS overrides the default credential chain (tests, benchmarks).
	AWS *aws.Config
	// AWSTimeout bounds each HTTP attempt of an AWS call (default
	// awsauth.DefaultCallTimeout).
	AWSTimeout time.Duration
	// AWSRate paces the calls made as connector roles, per account and
	// second, shared by grants, removals and the reconciler (0: the default
	// awsauth.DefaultRate; negative: unpaced). Bursts of one second's worth.
	AWSRate float64
	Engine  engine.Options
	// RuntimeVerifier, when set, is given the server's own AWS
	// configuration and returns the check each runtime connector role must
	// pass before the first grant through it (cmd/sym passes
	// connector.VerifyRuntime: the check of `sym connector verify`).
	RuntimeVerifier func(own aws.Config) func(ctx context.Context, settings map[string]string) error
	// PublicURL is where browsers reach the server (the web app's links,
	// OIDC redirect and cookie security); default the listener's URL.
	PublicURL string
	// OIDC turns on single sign-on in the web app (Issuer empty: off).
	OIDC web.OIDCConfig
	// Delivery tunes the log destination and error logger workers.
	Delivery logdest.Options
	// Slack turns on the Slack app when its bot token is set.
	Slack SlackOptions
	// ConnectorVerifier, when set, is given the server's own AWS
	// configuration and returns the check each aws_sso and aws_lambda
	// connector role must pass before the first grant through it, and each
	// aws_iam connector role (strategyType "aws_iam") before a user is
	// added to a group through it (cmd/sym passes
	// connector.StrategyCheckWith). It answers an *awsauth.GuardError for
	// a role that differs from its module or breaks the guard rails.
	ConnectorVerifier func(own aws.Config) func(ctx context.Context, strategyType, runtimeRoleARN, roleARN string) error
	// SSOPollInterval is the first wait between reads of an IAM Identity
	// Center assignment's status (zero: awssso.DefaultPollInterval).
	SSOPollInterval time.Duration
	// LambdaTimeout bounds one invocation of an aws_lambda target's
	// function (zero: awslambda.DefaultTimeout).
	LambdaTimeout time.Duration
	// MaxTokenTTL caps the life of issued API tokens (0: no cap beyond
	// the 30-day default).
	MaxTokenTTL time.Duration
	// MetricsToken, when set, protects /metrics (a bearer token).
	MetricsToken string
	// Rates limit request creation and token issuing per token.
	Rates api.Rates
	// TLSCert and TLSKey (PEM files) make the server speak HTTPS.
	TLSCert, TLSKey string
	// InsecureHTTP allows plain HTTP on a non-loopback address (behind a
	// TLS-terminating proxy); without it such a listener is refused.
	InsecureHTTP bool
	// Guards are the guard rails the entities cannot move
	// (--allowed-group-paths, ...).
	Guards awsauth.Guards
	// HTTP are the listener's timeouts (zero fields: the defaults).
	HTTP HTTPTimeouts
}

// HTTPTimeouts bound how long a client may hold a connection: while it
// sends its headers (ReadHeader), its whole request, body included (Read),
// while the server writes the answer to a client that does not read it
// (Write), and between requests on a kept-alive connection (Idle). A zero
// field takes its default (DefaultHTTPTimeouts).
type HTTPTimeouts struct {
	ReadHeader, Read, Write, Idle time.Duration
}

// DefaultHTTPTimeouts are the listener's timeouts unless told otherwise.
var DefaultHTTPTimeouts = HTTPTimeouts{ReadHeader: 10 * time.Second, Read: 30 * time.Second, Write: 2 * time.Minute, Idle: 2 * time.Minute}

// withDefaults fills the zero fields.
func (t HTTPTimeouts) withDefaults() HTTPTimeouts {
	d := DefaultHTTPTimeouts
	if t.ReadHeader > 0 {
		d.ReadHeader = t.ReadHeader
	}
	if t.Read > 0 {
		d.Read = t.Read
	}
	if t.Write > 0 {
		d.Write = t.Write
	}
	if t.Idle > 0 {
		d.Idle = t.Idle
	}
	return d
}

// SlackOptions configure the Slack app (docs/web.md).
type SlackOptions struct {
	BotToken      string
	SigningSecret string
	APIURL        string        // Slack's Web API base; default https://slack.com/api/
	Poll          time.Duration // how often the audit log is read for news (default 1s)
}

// maxHeaderBytes bounds a request's headers (with the timeouts of
// HTTPTimeouts, a slow or silent client cannot hold a connection forever).
const maxHeaderBytes = 64 << 10

// Check refuses options the server could not run with, before Start opens
// anything: a --listen that is not HOST:PORT, plain HTTP on an address
// other hosts can reach, half a TLS key pair or one that does not load, and
// URLs that are not absolute http(s) URLs. Start runs it first; cmd/sym
// runs it before anything else, to answer a wrong command line as one.
func (opt Options) Check() error {
	listen := opt.Listen
	if listen == "" {
		listen = DefaultListen
	}
	_, port, err := net.SplitHostPort(listen)
	if err == nil {
		_, err = net.LookupPort("tcp", port)
	}
	if err != nil {
		return fmt.Errorf("--listen %q: want HOST:PORT, e.g. %s (%v)", listen, DefaultListen, err)
	}
	tlsOn := opt.TLSCert != "" || opt.TLSKey != ""
	if err := checkListen(listen, tlsOn, opt.InsecureHTTP); err != nil {
		return err
	}
	if tlsOn {
		if _, err := loadKeyPair(opt.TLSCert, opt.TLSKey); err != nil {
			return err
		}
	}
	for _, u := range []struct{ flag, value, example string }{
		{"--public-url", opt.PublicURL, "https://sym.example.com"},
		{"--oidc-issuer", opt.OIDC.Issuer, "https://accounts.google.com"},
		{"--slack-api-url", opt.Slack.APIURL, "https://slack.com/api/"},
	} {
		if u.value == "" {
			continue
		}
		if p, err := url.Parse(u.value); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return fmt.Errorf("%s %q is not an absolute http(s) URL: write it with its scheme, e.g. %s", u.flag, u.value, u.example)
		}
	}
	// Sign-in links, the OIDC redirect and Slack's links are the public URL
	// followed by a path: it can hold no query, fragment or user.
	if p, _ := url.Parse(opt.PublicURL); p != nil && opt.PublicURL != "" {
		var part string
		switch {
		case p.RawQuery != "" || p.ForceQuery:
			part = "a query (?...)"
		case p.Fragment != "" || strings.Contains(opt.PublicURL, "#"):
			part = "a fragment (#...)"
		case p.User != nil:
			part = "a user name or password"
		}
		if part != "" {
			return fmt.Errorf("--public-url %q has %s: sym appends paths to it (sign-in links, /login/callback); give the address alone, e.g. %s://%s",
				p.Redacted(), part, p.Scheme, p.Host)
		}
	}
	return nil
}

// DefaultListen is where the server listens unless told otherwise.
const DefaultListen = "127.0.0.1:8420"

// loadKeyPair loads --tls-cert and --tls-key, which go together.
func loadKeyPair(certFile, keyFile string) (tls.Certificate, error) {
	if certFile == "" || keyFile == "" {
		return tls.Certificate{}, fmt.Errorf("--tls-cert and --tls-key go together")
	}
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("load --tls-cert/--tls-key: %w", err)
	}
	return cert, nil
}

// checkListen refuses plain HTTP on an address other hosts can reach.
func checkListen(addr string, tlsOn, insecure bool) error {
	if tlsOn || insecure {
		return nil
	}
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("--listen %q: %w", addr, err)
	}
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("refusing to serve plain HTTP on %s, which other hosts can reach: tokens would cross the network in clear; give --tls-cert and --tls-key, or --insecure-http when a TLS-terminating proxy sits in front", addr)
}

// Instance is a running server.
type Instance struct {
	URL       string
	PublicURL string     // where browsers reach it (the web app)
	Slack     *slack.App // nil when Slack is not configured
	Store     *store.Store
	Engine    *engine.Engine
	Chain     *awsauth.Chain
	// SSO is the aws_sso strategy (benchmarks tune its polling).
	SSO *awssso.Strategy
	// AWSIdentity is who the server's own credentials were at start, or
	// AWSError why that could not be told.
	AWSIdentity awsauth.Identity
	AWSError    error
	// Secrets reads sym_secret values (for integrations that name one).
	Secrets *secrets.Resolver
	// Delivery ships the audit log to log destinations and error loggers.
	Delivery *logdest.Deliverer
	lock     *dbLock
	metrics  *metricsRegistry
	// cert is the TLS certificate served (nil without TLS), and
	// certFiles the files it is read from.
	cert      *atomic.Pointer[tls.Certificate]
	certFiles [2]string
	api       *api.Server
	http      *http.Server
	done      chan error
}

// Start opens the database, reloads open requests and serves the API.
func Start(ctx context.Context, opt Options) (*Instance, error) {
	if opt.Log == nil {
		opt.Log = slog.Default()
	}
	if opt.Listen == "" {
		opt.Listen = DefaultListen
	}
	if err := opt.Check(); err != nil {
		return nil, err
	}
	lock, err := lockDB(opt.DB)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(ctx, opt.DB)
	if err != nil {
		lock.release()
		if errors.Is(err, fs.ErrPermission) || strings.Contains(err.Error(), "readonly database") {
			return nil, notWritable(opt.DB, err)
		}
		return nil, err
	}
	warnOpenFiles(opt.Log, opt.DB)
	started := false
	defer func() {
		if !started {
			lock.release()
		}
	}()
	reg := &metricsRegistry{Registry: prometheus.NewRegistry()}
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	awsCalls := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "sym_aws_calls_total", Help: "AWS API operations made, by service and operation.",
	}, []string{"service", "operation"})
	reg.MustRegister(awsCalls)
	calls := &awsauth.Calls{OnCall: func(svc, op string) { awsCalls.WithLabelValues(svc, op).Inc() }}
	var base aws.Config
	if opt.AWS != nil {
		base = *opt.AWS
	} else if base, err = awsauth.LoadDefault(ctx); err != nil {
		st.Close()
		return nil, err
	}
	// The SDK's own warnings go into our log, so that a JSON log stays JSON.
	base.Logger = awsauth.SDKLogger(opt.Log)
	if opt.AWSTimeout <= 0 {
		opt.AWSTimeout = awsauth.DefaultCallTimeout
	}
	base = awsauth.WithCallTimeout(base, opt.AWSTimeout)
	chain := awsauth.NewChain(base, calls)
	chain.Guards = opt.Guards
	if opt.AWSRate == 0 {
		opt.AWSRate = awsauth.DefaultRate
	}
	if opt.AWSRate > 0 {
		throttled := prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "sym_aws_throttled_total", Help: "AWS call attempts answered with a throttling error, by account.",
		}, []string{"account"})
		reg.MustRegister(throttled)
		chain.Pacer = awsauth.NewPacer(opt.AWSRate, max(1, int(opt.AWSRate)))
		chain.Pacer.OnThrottle = func(acct string) { throttled.WithLabelValues(acct).Inc() }
	}
	eopt := opt.Engine
	eopt.Log = opt.Log
	eopt.Metrics = engine.NewMetrics(reg)
	if opt.RuntimeVerifier != nil {
		eopt.VerifyRuntime = opt.RuntimeVerifier(chain.Base())
	}
	eopt.Org = opt.Org
	eopt.Guards = opt.Guards
	var check *strategy.ConnectorCheck
	if opt.ConnectorVerifier != nil {
		verify := opt.ConnectorVerifier(chain.Base())
		check = &strategy.ConnectorCheck{Check: verify, Every: eopt.VerifyEvery}
		// The IAM connector role is checked before every user is added
		// to a group through it, when no passed check holds.
		chain.MembershipCheck = func(ctx context.Context, rt awsauth.Runtime, roleARN string) error {
			return verify(ctx, "aws_iam", rt.RoleARN, roleARN)
		}
		chain.CheckEvery = eopt.VerifyEvery
	}
	sso := &awssso.Strategy{Chain: chain, PollInterval: opt.SSOPollInterval, Check: check}
	eng := engine.New(st, map[string]strategy.AccessStrategy{
		"aws_iam":    &awsiam.Strategy{Chain: chain},
		"aws_sso":    sso,
		"aws_lambda": &awslambda.Strategy{Chain: chain, Now: eopt.Now, Timeout: opt.LambdaTimeout, Check: check},
	}, eopt)
	if err := eng.Start(ctx); err != nil {
		st.Close()
		return nil, err
	}
	whoAmI := func(ctx context.Context) (awsauth.Identity, error) {
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		return awsauth.WhoAmI(ctx, base)
	}
	res := secrets.New(st, chain)
	dopt := opt.Delivery
	dopt.Log, dopt.Registry, dopt.Org = opt.Log, reg, opt.Org
	delivery := logdest.New(st, chain, res, dopt)
	delivery.Start()
	tlsOn := opt.TLSCert != "" || opt.TLSKey != ""
	var tlsCfg *tls.Config
	var serving *atomic.Pointer[tls.Certificate]
	// Check passed; the files may have changed since.
	err = checkListen(opt.Listen, tlsOn, opt.InsecureHTTP)
	if err == nil && tlsOn {
		var cert tls.Certificate
		cert, err = loadKeyPair(opt.TLSCert, opt.TLSKey)
		// The certificate in use is read at each handshake, so that
		// ReloadCertificate (SIGHUP) serves a renewed one at once.
		serving = &atomic.Pointer[tls.Certificate]{}
		serving.Store(&cert)
		tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12,
			GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) { return serving.Load(), nil }}
	}
	var ln net.Listener
	if err == nil {
		ln, err = net.Listen("tcp", opt.Listen)
		if err != nil {
			err = fmt.Errorf("listen on %s: %w", opt.Listen, err)
		}
	}
	if err != nil {
		delivery.Stop()
		eng.Stop()
		st.Close()
		return nil, err
	}
	url := "http://" + ln.Addr().String()
	if tlsCfg != nil {
		ln = tls.NewListener(ln, tlsCfg)
		url = "https://" + ln.Addr().String()
	}
	if opt.PublicURL == "" {
		opt.PublicURL = url
	}
	apiHandler := api.New(api.Config{Store: st, Engine: eng, Org: opt.Org, Version: opt.Version, AdminToken: opt.AdminToken, Log: opt.Log,
		Registry: reg.Registry, PublicURL: opt.PublicURL, WhoAmI: whoAmI, Delivery: delivery,
		MaxTokenTTL: opt.MaxTokenTTL, MetricsToken: opt.MetricsToken, Rates: opt.Rates, Guards: opt.Guards})
	app, err := web.New(web.Config{Store: st, Engine: eng, Log: opt.Log, PublicURL: opt.PublicURL, Org: opt.Org, OIDC: opt.OIDC})
	if err != nil {
		ln.Close()
		delivery.Stop()
		eng.Stop()
		st.Close()
		return nil, err
	}
	// The API keeps /api/, /healthz and /metrics; the web app has its pages;
	// Slack posts to /slack/.
	mux := http.NewServeMux()
	mux.Handle("/", apiHandler)
	for _, p := range web.Routes() {
		mux.Handle(p, app)
	}
	// The Slack app serves the workspaces that sym_integrations of type
	// slack declare, with the flags' credentials or the sym_secrets they
	// name; it also delivers error loggers whose integration is Slack.
	slackApp, err := slack.New(slack.Config{Store: st, Engine: eng, Log: opt.Log, BotToken: opt.Slack.BotToken,
		SigningSecret: opt.Slack.SigningSecret, Secrets: res, APIURL: opt.Slack.APIURL, PublicURL: opt.PublicURL, Poll: opt.Slack.Poll})
	if err != nil {
		ln.Close()
		delivery.Stop()
		eng.Stop()
		st.Close()
		return nil, err
	}
	mux.Handle("/slack/", slackApp)
	delivery.RegisterErrorSender("slack", slackApp.ErrorSender)
	slackApp.Start()
	started = true
	timeouts := opt.HTTP.withDefaults()
	inst := &Instance{URL: url, PublicURL: opt.PublicURL, Store: st, Engine: eng, Chain: chain, SSO: sso, Slack: slackApp, Secrets: res, Delivery: delivery, done: make(chan error, 1), lock: lock,
		metrics: reg, api: apiHandler, cert: serving, certFiles: [2]string{opt.TLSCert, opt.TLSKey},
		http: &http.Server{Handler: mux, ReadHeaderTimeout: timeouts.ReadHeader, ReadTimeout: timeouts.Read, WriteTimeout: timeouts.Write,
			IdleTimeout: timeouts.Idle, MaxHeaderBytes: maxHeaderBytes, ErrorLog: log.New(httpErrorLog{opt.Log}, "", 0)}}
	go func() {
		err := inst.http.Serve(ln)
		if errors.Is(err, http.ErrServerClosed) {
			err = nil
		}
		inst.done <- err
	}()
	opt.Log.Info("sym server listening", "url", inst.URL, "db", opt.DB, "org", opt.Org)
	// Say which AWS identity the server runs as: the runtime connector
	// role must trust exactly that principal.
	if id, err := whoAmI(ctx); err != nil {
		inst.AWSError = err
		if awsauth.IsCredentialsError(err) {
			opt.Log.Warn("sym server has no usable AWS credentials: grants will fail until it has them; "+awsauth.CredentialsHelp, "err", err)
		} else {
			opt.Log.Warn("cannot tell which AWS identity sym server runs as (sts:GetCallerIdentity)", "err", err)
		}
	} else {
		inst.AWSIdentity = id
		opt.Log.Info("aws identity", "arn", id.ARN, "account", id.Account, "trusted_principal", id.PrincipalARN)
	}
	// Say whether browser sign-in will work, without holding the start up
	// on a slow identity provider.
	if opt.OIDC.Issuer != "" {
		go func() {
			c, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			defer cancel()
			if err := app.CheckIdentityProvider(c); err != nil {
				opt.Log.Warn("browser sign-in through --oidc-issuer fails until the identity provider answers: check the URL and that this host reaches it; token sign-in still works", "issuer", opt.OIDC.Issuer, "err", err)
				return
			}
			opt.Log.Info("identity provider answered", "issuer", opt.OIDC.Issuer)
		}()
	}
	return inst, nil
}

// metricsRegistry is the server's Prometheus registry. It keeps the
// collectors registered through it, so that every metric's name and help
// can be held to docs/operations.md, a vector with no series yet included
// (the registry's own Gather leaves those out).
type metricsRegistry struct {
	*prometheus.Registry
	collectors []prometheus.Collector
}

func (r *metricsRegistry) Register(c prometheus.Collector) error {
	if err := r.Registry.Register(c); err != nil {
		return err
	}
	r.collectors = append(r.collectors, c)
	return nil
}

func (r *metricsRegistry) MustRegister(cs ...prometheus.Collector) {
	for _, c := range cs {
		if err := r.Register(c); err != nil {
			panic(err)
		}
	}
}

// ReloadCertificate reads --tls-cert and --tls-key again and serves the
// pair from the next handshake on (a certificate renewed on disk, without
// a restart). A pair that does not load is refused and the one in use
// stays. Without TLS it does nothing and answers false.
func (i *Instance) ReloadCertificate() (bool, error) {
	if i.cert == nil {
		return false, nil
	}
	cert, err := loadKeyPair(i.certFiles[0], i.certFiles[1])
	if err != nil {
		return true, err
	}
	i.cert.Store(&cert)
	return true, nil
}

// SetAdminToken replaces the admin bot's token at once ("" disables it).
func (i *Instance) SetAdminToken(token string) { i.api.SetAdminToken(token) }

// Done reports the HTTP server's end.
func (i *Instance) Done() <-chan error { return i.done }

// ErrRequestsCutOff is what Shutdown answers when requests were still in
// flight when its context ended: their connections were closed, and the
// rest of the stop went on (the engine stopped, the database closed).
var ErrRequestsCutOff = errors.New("requests still in flight when the shutdown's time was up: their connections were closed")

// Shutdown stops taking requests, lets the ones in flight finish until ctx
// ends (then closes their connections: no handler reads the database once
// it is closed), stops the engine and closes the database.
func (i *Instance) Shutdown(ctx context.Context) error {
	err := i.http.Shutdown(ctx)
	if err != nil && ctx.Err() != nil {
		_ = i.http.Close()
		err = fmt.Errorf("%w (%v)", ErrRequestsCutOff, err)
	}
	if i.Slack != nil {
		i.Slack.Stop()
	}
	i.Engine.Stop()
	// Undelivered events stay in the outbox for the next start.
	i.Delivery.Stop()
	if cerr := i.Store.Close(); err == nil {
		err = cerr
	}
	i.lock.release()
	return err
}

// httpErrorLog puts net/http's own error lines in the server's log. A TLS
// handshake a client abandons (a load balancer's TCP health check, a port
// scan: one every few seconds, and nothing wrong with the server) is a
// debug line; one that failed for a reason (plain HTTP to the HTTPS port, a
// client that refuses the certificate) is an info line naming it. The rest
// are warnings.
type httpErrorLog struct{ log *slog.Logger }

func (w httpErrorLog) Write(p []byte) (int, error) {
	msg := strings.TrimSpace(string(p))
	level := slog.LevelWarn
	if strings.HasPrefix(msg, "http: TLS handshake error") {
		level = slog.LevelInfo
		if strings.HasSuffix(msg, ": EOF") || strings.HasSuffix(msg, "connection reset by peer") {
			level = slog.LevelDebug
		}
	}
	w.log.Log(context.Background(), level, msg)
	return len(p), nil
}

// notWritable says what to change when the database, or the directory it
// and its companions live in, cannot be written by the server's user.
func notWritable(db string, err error) error {
	return fmt.Errorf("the database %s cannot be written (%w): sym server writes the file and, in its directory, %s-wal, %s-shm "+
		"and %s.lock; give the user it runs as write access to %s and to the files in it, or give --db a path it owns",
		db, err, filepath.Base(db), filepath.Base(db), filepath.Base(db), filepath.Dir(db))
}

// warnOpenFiles says so when the database (or its write-ahead log) is
// readable or writable by others than its owner: it holds token hashes and
// the grant ledger. Databases are created 0600; one made by an older sym,
// or copied with cp, may not be.
func warnOpenFiles(log *slog.Logger, db string) {
	for _, f := range []string{db, db + "-wal"} {
		WarnOpenFile(log, "the database file, which holds token hashes and the grant ledger,", f, 0o077)
	}
}

// WarnOpenFile says so when a file that holds secrets has any of the
// permission bits in open (group and others: 0o077; others only: 0o007).
// The file is not changed: its owner may have a reason.
func WarnOpenFile(log *slog.Logger, what, path string, open os.FileMode) {
	fi, err := os.Stat(path)
	if err != nil || fi.Mode().Perm()&open == 0 {
		return
	}
	log.Warn(what+" is open to other users: chmod 600 it", "file", path, "mode", fmt.Sprintf("%04o", fi.Mode().Perm()))
}
