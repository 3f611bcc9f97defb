// Package awsauth turns the server's own AWS identity into credentials for a
// strategy connector role: own identity -> runtime connector role (with its
// External ID) -> connector role (role chaining). It enforces the guard
// rails before any AWS call and caches each hop's credentials until shortly
// before they expire, so that a warm grant costs one AWS call.
//
// It must never assume a role outside /sym/ or outside the runtime's
// accounts, and never assume the runtime role without its External ID.
package awsauth

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go"
	awsmiddleware "github.com/aws/smithy-go/middleware"

	smithymw "github.com/aws/aws-sdk-go-v2/aws/middleware"
	"github.com/opensym/sym/internal/model"
)

// ConnectorPath is the IAM path every role the platform assumes must be under.
const ConnectorPath = "/sym/"

// Runtime is the runtime connector: the first hop of the chain, read from
// the runtime's permission context.
type Runtime struct {
	RoleARN    string
	ExternalID string
	Region     string
	// Safelist holds the accounts besides the runtime's own whose /sym/ roles
	// may be assumed.
	Safelist []string
}

// GuardError is a guard rail refusing a role before any AWS call.
type GuardError struct{ Reason string }

func (e *GuardError) Error() string { return "guard rail: " + e.Reason }

// IsGuard reports whether err is a guard rail refusal.
func IsGuard(err error) bool {
	var g *GuardError
	return errors.As(err, &g)
}

// CheckRuntime enforces what the runtime hop needs: a role ARN under /sym/
// and a non-empty External ID.
func CheckRuntime(rt Runtime) error {
	if strings.TrimSpace(rt.ExternalID) == "" {
		return &GuardError{"the runtime's permission context has no external_id; the runtime connector role is only assumed with its External ID"}
	}
	_, path, _, err := model.ParseRoleARN(rt.RoleARN)
	if err != nil {
		return &GuardError{"runtime role: " + err.Error()}
	}
	if !strings.HasPrefix(path, ConnectorPath) {
		return &GuardError{fmt.Sprintf("runtime role %s is not under the path %s", rt.RoleARN, ConnectorPath)}
	}
	for _, a := range rt.Safelist {
		if !model.IsAccountID(a) {
			return &GuardError{fmt.Sprintf("account safelist entry %q is not a 12-digit AWS account id", a)}
		}
	}
	return nil
}

// CheckConnector enforces the two guard rails on a chained role: it is under
// /sym/, and its account is the runtime's own or in the runtime's safelist.
func CheckConnector(rt Runtime, roleARN string) error {
	if err := CheckRuntime(rt); err != nil {
		return err
	}
	acct, path, _, err := model.ParseRoleARN(roleARN)
	if err != nil {
		return &GuardError{"connector role: " + err.Error()}
	}
	if !strings.HasPrefix(path, ConnectorPath) {
		return &GuardError{fmt.Sprintf("connector role %s is not under the path %s", roleARN, ConnectorPath)}
	}
	rtAcct, _, _, _ := model.ParseRoleARN(rt.RoleARN)
	if p, rp := model.RolePartition(roleARN), model.RolePartition(rt.RoleARN); p != rp {
		return &GuardError{fmt.Sprintf("connector role %s is in partition %s, the runtime role in %s: a role chain stays in one partition", roleARN, p, rp)}
	}
	if acct != rtAcct && !slices.Contains(rt.Safelist, acct) {
		return &GuardError{fmt.Sprintf("connector role %s is in account %s, which is neither the runtime's account (%s) nor in its safelist", roleARN, acct, rtAcct)}
	}
	return nil
}

// CheckResource enforces the account guard rail on a resource the runtime
// role acts on directly (a secret, a stream named by ARN): its account is
// the runtime's own or in the runtime's safelist. A bare name is in the
// runtime's account by construction.
func CheckResource(rt Runtime, nameOrARN string) error {
	if err := CheckRuntime(rt); err != nil {
		return err
	}
	if !strings.HasPrefix(nameOrARN, "arn:") {
		return nil
	}
	parts := strings.SplitN(nameOrARN, ":", 6)
	if len(parts) != 6 || !model.IsAccountID(parts[4]) {
		return &GuardError{fmt.Sprintf("%q is not an ARN with an account id", nameOrARN)}
	}
	if rp := model.RolePartition(rt.RoleARN); parts[1] != rp {
		return &GuardError{fmt.Sprintf("%s is in partition %q, the runtime role in %s", nameOrARN, parts[1], rp)}
	}
	rtAcct, _, _, _ := model.ParseRoleARN(rt.RoleARN)
	if parts[4] != rtAcct && !slices.Contains(rt.Safelist, parts[4]) {
		return &GuardError{fmt.Sprintf("%s is in account %s, which is neither the runtime's account (%s) nor in its safelist", nameOrARN, parts[4], rtAcct)}
	}
	return nil
}

// CheckResource is CheckResource with the chain's guard rails: an ARN's
// account must also be within --allowed-accounts (when set).
func (c *Chain) CheckResource(rt Runtime, nameOrARN string) error {
	if err := CheckResource(rt, nameOrARN); err != nil {
		return err
	}
	if parts := strings.SplitN(nameOrARN, ":", 6); strings.HasPrefix(nameOrARN, "arn:") && len(parts) == 6 {
		return c.Guards.CheckAccount(nameOrARN, parts[4])
	}
	return nil
}

// CheckTarget enforces the guard rails on a resource a strategy's connector
// role acts on when it grants (a Lambda function): an ARN in the runtime
// role's partition (no role of the chain can reach another), whose account
// is within --allowed-accounts (when set). The API checks the account when
// the target is written; the flags may have narrowed since. Unlike
// CheckResource, the account need not be the runtime's or safelisted: the
// connector role's own policy names what it may act on, in any account. A
// bare name is in the connector role's account by construction.
func (c *Chain) CheckTarget(rt Runtime, what, nameOrARN string) error {
	if !strings.HasPrefix(nameOrARN, "arn:") {
		return nil
	}
	parts := strings.SplitN(nameOrARN, ":", 6)
	if len(parts) != 6 || !model.IsAccountID(parts[4]) {
		return &GuardError{fmt.Sprintf("%s %q is not an ARN with an account id", what, nameOrARN)}
	}
	if rp := model.RolePartition(rt.RoleARN); parts[1] != rp {
		return &GuardError{fmt.Sprintf("%s %s is in partition %q, the runtime role %s in %q: no role of the chain can reach it", what, nameOrARN, parts[1], rt.RoleARN, rp)}
	}
	return c.Guards.CheckAccount(what+" "+nameOrARN, parts[4])
}

// RuntimeOf is the runtime connector of an AWS permission context.
func RuntimeOf(a *model.AWSContext) Runtime {
	return Runtime{RoleARN: a.RoleARN, ExternalID: a.ExternalID, Region: a.Region, Safelist: ParseSafelist(a.Safelist)}
}

// ParseSafelist reads a comma- or space-separated list of account ids.
func ParseSafelist(s string) []string {
	var out []string
	for _, f := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\n' }) {
		out = append(out, strings.TrimSpace(f))
	}
	return out
}

// Calls counts AWS API operations made through configurations this package
// built, by "Service.Operation".
type Calls struct {
	mu     sync.Mutex
	counts map[string]int64
	total  atomic.Int64
	// OnCall, when set, is told of every call (metrics use it).
	OnCall func(service, operation string)
}

// Total is the number of calls so far.
func (c *Calls) Total() int64 { return c.total.Load() }

// Snapshot copies the per-operation counts.
func (c *Calls) Snapshot() map[string]int64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]int64, len(c.counts))
	for k, v := range c.counts {
		out[k] = v
	}
	return out
}

func (c *Calls) record(service, op string) {
	c.total.Add(1)
	c.mu.Lock()
	if c.counts == nil {
		c.counts = map[string]int64{}
	}
	c.counts[service+"."+op]++
	c.mu.Unlock()
	if c.OnCall != nil {
		c.OnCall(service, op)
	}
}

func (c *Calls) middleware(stack *awsmiddleware.Stack) error {
	return stack.Initialize.Add(awsmiddleware.InitializeMiddlewareFunc("SymCountCalls",
		func(ctx context.Context, in awsmiddleware.InitializeInput, next awsmiddleware.InitializeHandler) (awsmiddleware.InitializeOutput, awsmiddleware.Metadata, error) {
			c.record(smithymw.GetServiceID(ctx), smithymw.GetOperationName(ctx))
			return next.HandleInitialize(ctx, in)
		}), awsmiddleware.After)
}

// Chain builds and caches chained credentials.
type Chain struct {
	base  aws.Config
	calls *Calls
	// SessionName names the sessions in CloudTrail.
	SessionName string
	// Duration of each assumed session; role chaining caps it at one hour.
	Duration time.Duration
	// Refresh is how long before expiry cached credentials are renewed.
	Refresh time.Duration
	// Pacer, when set, paces the calls made as connector roles by the
	// connector role's account (pace.go).
	Pacer *Pacer
	// Guards are the server's guard rails (guards.go).
	Guards Guards
	// MembershipCheck, when set, verifies a connector role before a user
	// is added to a group through it (IAM AddUserToGroup): before the
	// first addition, again once CheckEvery has passed, and at once after
	// a call through the role was refused (IsAccessDenied). A refusal
	// should be a *GuardError; any other error is transient. Removals
	// never wait for it.
	MembershipCheck func(ctx context.Context, rt Runtime, roleARN string) error
	// CheckEvery is how long a passed MembershipCheck holds (default 5 min).
	CheckEvery time.Duration

	mu      sync.Mutex
	cache   map[string]aws.CredentialsProvider
	checked Passes // MembershipCheck passes, by runtime and connector role
}

// LoadDefault builds the server's own AWS configuration through the SDK's
// default credential chain (AWS_ENDPOINT_URL points it at an emulator), with
// standard retries of throttling and 5xx answers.
func LoadDefault(ctx context.Context) (aws.Config, error) {
	cfg, err := config.LoadDefaultConfig(ctx, config.WithRetryer(Retryer))
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	if cfg.Region == "" {
		cfg.Region = "us-east-1"
	}
	return cfg, nil
}

// Retryer is how the server retries AWS calls: throttling, 5xx answers and
// transient network errors, 5 attempts with jittered exponential back-off of
// at most 5 s (backoff).
func Retryer() aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = 5
		o.MaxBackoff = maxBackoff
		o.Backoff = backoff{throttle: retry.IsErrorThrottles(retry.DefaultThrottles)}
	})
}

// The waits between the attempts of one AWS call. A throttled call waits on
// a 1 s base, as the SDK always did: the account's budget is shared, and the
// pacer already keeps sym under it. Any other retryable error (a 5xx, a
// reset connection) waits on a 50 ms base: such errors pass, and a removal
// should not wait seconds for one. The n-th retry waits a random time below
// min(base x 2^n, 5 s) (full jitter; the SDK's own policy from 2026,
// AWS_NEW_RETRIES_2026, has the same shape).
const (
	maxBackoff          = 5 * time.Second
	errorBackoffBase    = 50 * time.Millisecond
	throttleBackoffBase = time.Second
)

type backoff struct{ throttle retry.IsErrorThrottle }

func (b backoff) BackoffDelay(attempt int, err error) (time.Duration, error) {
	base := errorBackoffBase
	if b.throttle.IsErrorThrottle(err) == aws.TrueTernary {
		base = throttleBackoffBase
	}
	limit := maxBackoff
	if attempt < 16 {
		limit = min(maxBackoff, base<<attempt)
	}
	return time.Duration(rand.Int64N(int64(limit) + 1)), nil
}

// NewChain wraps the server's own configuration. calls may be nil.
func NewChain(base aws.Config, calls *Calls) *Chain {
	if calls == nil {
		calls = &Calls{}
	}
	base = base.Copy()
	base.APIOptions = append(base.APIOptions, calls.middleware)
	return &Chain{base: base, calls: calls, SessionName: "sym-runtime", Duration: time.Hour,
		Refresh: 5 * time.Minute, cache: map[string]aws.CredentialsProvider{}}
}

// Calls is the call counter of this chain.
func (c *Chain) Calls() *Calls { return c.calls }

// Base is the server's own configuration, with call counting.
func (c *Chain) Base() aws.Config { return c.base.Copy() }

func (c *Chain) cached(key string, make func() aws.CredentialsProvider) aws.CredentialsProvider {
	c.mu.Lock()
	defer c.mu.Unlock()
	if p, ok := c.cache[key]; ok {
		return p
	}
	p := aws.NewCredentialsCache(make(), func(o *aws.CredentialsCacheOptions) { o.ExpiryWindow = c.Refresh })
	c.cache[key] = p
	return p
}

func (c *Chain) withCreds(p aws.CredentialsProvider, region string) aws.Config {
	cfg := c.base.Copy()
	cfg.Credentials = p
	if region != "" {
		cfg.Region = region
	}
	return cfg
}

// RuntimeConfig is an AWS configuration acting as the runtime connector role.
func (c *Chain) RuntimeConfig(rt Runtime) (aws.Config, error) {
	if err := CheckRuntime(rt); err != nil {
		return aws.Config{}, err
	}
	if err := c.Guards.CheckRuntimeRole(rt.RoleARN); err != nil {
		return aws.Config{}, err
	}
	p := c.cached("rt|"+rt.RoleARN+"|"+rt.ExternalID, func() aws.CredentialsProvider {
		return stscreds.NewAssumeRoleProvider(sts.NewFromConfig(c.withCreds(c.base.Credentials, rt.Region)), rt.RoleARN,
			func(o *stscreds.AssumeRoleOptions) {
				o.ExternalID = aws.String(rt.ExternalID)
				o.RoleSessionName = c.SessionName
				o.Duration = c.Duration
			})
	})
	return c.withCreds(p, rt.Region), nil
}

// ConnectorConfig is an AWS configuration acting as a strategy connector role,
// reached by chaining through the runtime role. Guard rails run first.
func (c *Chain) ConnectorConfig(rt Runtime, roleARN, region string) (aws.Config, error) {
	if err := CheckConnector(rt, roleARN); err != nil {
		return aws.Config{}, err
	}
	if acct, _, _, _ := model.ParseRoleARN(roleARN); acct != "" {
		if err := c.Guards.CheckAccount("connector role "+roleARN, acct); err != nil {
			return aws.Config{}, err
		}
	}
	rtCfg, err := c.RuntimeConfig(rt)
	if err != nil {
		return aws.Config{}, err
	}
	if region == "" {
		region = rt.Region
	}
	p := c.cached("conn|"+rt.RoleARN+"|"+rt.ExternalID+"|"+roleARN, func() aws.CredentialsProvider {
		return stscreds.NewAssumeRoleProvider(sts.NewFromConfig(rtCfg), roleARN, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = c.SessionName
			o.Duration = c.Duration
		})
	})
	cfg := c.withCreds(p, region)
	if c.MembershipCheck != nil {
		cfg.APIOptions = append(slices.Clip(cfg.APIOptions), c.membershipCheck(rt, roleARN))
	}
	if c.Pacer != nil {
		acct, _, _, _ := model.ParseRoleARN(roleARN) // CheckConnector parsed it already
		cfg.APIOptions = append(slices.Clip(cfg.APIOptions), c.Pacer.middleware(acct))
	}
	return cfg, nil
}

// membershipCheck is the middleware that runs MembershipCheck before an
// AddUserToGroup made as roleARN when no passed check holds, and drops the
// passed check after any call as roleARN that AWS refused.
func (c *Chain) membershipCheck(rt Runtime, roleARN string) func(*awsmiddleware.Stack) error {
	key := rt.RoleARN + "|" + roleARN
	return func(stack *awsmiddleware.Stack) error {
		return stack.Initialize.Add(awsmiddleware.InitializeMiddlewareFunc("SymMembershipCheck",
			func(ctx context.Context, in awsmiddleware.InitializeInput, next awsmiddleware.InitializeHandler) (awsmiddleware.InitializeOutput, awsmiddleware.Metadata, error) {
				if smithymw.GetServiceID(ctx) == "IAM" && smithymw.GetOperationName(ctx) == "AddUserToGroup" {
					if err := c.checkMembership(ctx, rt, roleARN, key); err != nil {
						return awsmiddleware.InitializeOutput{}, awsmiddleware.Metadata{}, err
					}
				}
				out, md, err := next.HandleInitialize(ctx, in)
				if IsAccessDenied(err) {
					// The role may have changed since it was checked.
					c.checked.Forget(key)
				}
				return out, md, err
			}), awsmiddleware.After) // after the SDK registers the service and operation names
	}
}

func (c *Chain) checkMembership(ctx context.Context, rt Runtime, roleARN, key string) error {
	every := c.CheckEvery
	if every <= 0 {
		every = 5 * time.Minute
	}
	return c.checked.Run(key, every, func() error { return c.MembershipCheck(ctx, rt, roleARN) })
}

// Forget drops cached credentials and passed membership checks (after a
// connector changed, say).
func (c *Chain) Forget() {
	c.mu.Lock()
	c.cache = map[string]aws.CredentialsProvider{}
	c.mu.Unlock()
	c.checked.Reset()
}

// accessDeniedCodes are the AWS error codes of a call refused by a policy.
var accessDeniedCodes = []string{"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "UnauthorizedAccess"}

// IsAccessDenied reports an AWS answer that a role or policy refused the
// call, or any failure of an AssumeRole hop of the chain: after one, a
// passed verification of the runtime role is no longer trusted.
func IsAccessDenied(err error) bool {
	if err == nil {
		return false
	}
	var api smithy.APIError
	if errors.As(err, &api) && slices.Contains(accessDeniedCodes, api.ErrorCode()) {
		return true
	}
	var op *smithy.OperationError
	return errors.As(err, &op) && op.Operation() == "AssumeRole"
}
