// Package awssso is the aws_sso access strategy (IAM Identity Center),
// through the chained SSO connector role:
//
//   - an aws_sso_permission_set target (permission_set_arn, account_id) is
//     granted by CreateAccountAssignment for the requester's identity-store
//     user, and taken away by DeleteAccountAssignment. Both are
//     asynchronous: the strategy polls their status with bounded back-off
//     and succeeds only on SUCCEEDED (a grant is never reported done before
//     AWS says so); FAILED carries AWS's reason.
//   - an aws_sso_group target (group_id) is granted by identity-store group
//     membership (CreateGroupMembership, DeleteGroupMembership).
//
// The requester's identity-store user is their aws_sso identity (a user
// name, or a user id) or else the user whose user name or primary email is
// their email. Calls to one instance are paced by one limiter (about 20
// requests per second, at most 10 assignment operations in flight), shared
// by grants, removals and the reconciler.
//
// It must never create or delete anything but the one assignment or
// membership of the grant, and never remove an assignment it cannot find.
package awssso

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"regexp"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/identitystore"
	"github.com/aws/aws-sdk-go-v2/service/identitystore/document"
	istypes "github.com/aws/aws-sdk-go-v2/service/identitystore/types"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin"
	"github.com/aws/aws-sdk-go-v2/service/ssoadmin/types"

	"github.com/opensym/sym/internal/awsauth"
	"github.com/opensym/sym/internal/strategy"
)

// Defaults of the status polling.
const (
	DefaultPollInterval = time.Second
	DefaultPollMax      = 5 * time.Second
	DefaultPollTimeout  = 5 * time.Minute
	userCacheTTL        = 10 * time.Minute
)

// Strategy is the aws_sso strategy. One value serves the whole server, so
// that its limiters and caches are shared.
type Strategy struct {
	Chain *awsauth.Chain
	// PollInterval is the first wait before reading an assignment's status
	// again; it doubles up to PollMax. PollTimeout bounds the whole wait.
	PollInterval, PollMax, PollTimeout time.Duration
	// Rate (requests per second) and InFlight (assignment operations)
	// per instance; zero means Identity Center's quotas.
	Rate     float64
	InFlight int
	// Check, when set, verifies the SSO connector role before grants.
	Check *strategy.ConnectorCheck

	mu       sync.Mutex
	pace     *awsauth.Pacer
	limiters map[string]*limiter
	stores   map[string]string // instance ARN -> identity store id
	users    map[string]cachedUser
	// unsettled are the creation and deletion requests of this server
	// whose outcome it has not seen (still IN_PROGRESS at PollTimeout, or
	// their status unreadable), by assignment (see assignmentKey). What
	// such a request does may show in the list of assignments only after
	// it was read: a removal is not done while a creation is IN_PROGRESS,
	// and a grant does not count on a listed assignment while its deletion
	// is.
	unsettled map[string][]unsettledOp
}

// unsettledOp is an assignment operation whose outcome is unknown.
type unsettledOp struct {
	deletion  bool
	requestID string
}

type cachedUser struct {
	id  string
	exp time.Time
}

// IdentityKey: an aws_sso identity (user name or user id) is optional; the
// requester's email finds the user otherwise.
func (s *Strategy) IdentityKey() string { return "aws_sso" }

// IdentityOptional tells the engine that a requester without an aws_sso
// identity can still be granted: the email finds the user.
func (s *Strategy) IdentityOptional() bool { return true }

// FailedError is an assignment operation that Identity Center answered
// FAILED, with its reason.
type FailedError struct {
	Op, Reason string
}

func (e *FailedError) Error() string {
	return fmt.Sprintf("IAM Identity Center %s FAILED: %s", e.Op, e.Reason)
}

// target is what a grant is about, read from its settings.
type target struct {
	instance      string
	permissionSet string
	account       string
	group         string
}

func targetOf(g strategy.Grant) (target, error) {
	t := target{instance: g.StrategySettings["instance_arn"], permissionSet: g.TargetSettings["permission_set_arn"],
		account: g.TargetSettings["account_id"], group: g.TargetSettings["group_id"]}
	if t.instance == "" {
		return t, fmt.Errorf("the aws_sso strategy has no instance_arn setting (the sso-connector module's settings.instance_arn)")
	}
	switch g.TargetType {
	case "aws_sso_permission_set":
		if t.permissionSet == "" || t.account == "" {
			return t, fmt.Errorf("an aws_sso_permission_set target needs permission_set_arn and account_id")
		}
	case "aws_sso_group":
		if t.group == "" {
			return t, fmt.Errorf("an aws_sso_group target needs group_id")
		}
	default:
		return t, fmt.Errorf("the aws_sso strategy cannot grant a target of type %q", g.TargetType)
	}
	return t, nil
}

// Key: the instance and the identity-store user id pinned when the grant
// was made (what Holders lists) on one side; the permission set in its
// account, or the group, on the other. A grant without a pinned id (a
// ledger row from before ids were pinned) is keyed by the user reference
// it looked the user up with: the aws_sso identity, else the email; user
// names and emails ignore case.
func (s *Strategy) Key(g strategy.Grant) (strategy.Key, error) {
	t, err := targetOf(g)
	if err != nil {
		return strategy.Key{}, err
	}
	who := "email/" + strings.ToLower(g.Requester)
	switch {
	case g.PrincipalID != "":
		who = "id/" + strings.ToLower(g.PrincipalID)
	case g.Identity != "":
		who = "user/" + strings.ToLower(g.Identity)
	}
	k := strategy.Key{Identity: "aws_sso:" + t.instance + ":" + who}
	if t.group != "" {
		k.Target = "aws_sso:" + t.instance + ":group/" + t.group
	} else {
		k.Target = "aws_sso:" + t.instance + ":" + t.account + ":" + t.permissionSet
	}
	return k, nil
}

func (s *Strategy) limiter(instance string) *limiter {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.limiters == nil {
		s.limiters = map[string]*limiter{}
	}
	if s.pace == nil {
		rate := s.Rate
		if rate <= 0 {
			rate = DefaultRate
		}
		s.pace = awsauth.NewPacer(rate, int(rate))
	}
	l := s.limiters[instance]
	if l == nil {
		l = newLimiter(s.pace, instance, s.InFlight)
		s.limiters[instance] = l
	}
	return l
}

// clients reaches the connector role, every call paced by the instance's
// limiter.
type clients struct {
	admin *ssoadmin.Client
	ids   *identitystore.Client
	lim   *limiter
	store string
}

func (s *Strategy) clients(ctx context.Context, g strategy.Grant, t target) (*clients, error) {
	cfg, err := s.Chain.ConnectorConfig(g.Runtime, g.ConnectorRoleARN, g.Region)
	if err != nil {
		return nil, err
	}
	lim := s.limiter(t.instance)
	cfg.APIOptions = append(cfg.APIOptions, lim.middleware)
	c := &clients{admin: ssoadmin.NewFromConfig(cfg), ids: identitystore.NewFromConfig(cfg), lim: lim}
	if c.store, err = s.identityStore(ctx, c.admin, t.instance); err != nil {
		return nil, err
	}
	return c, nil
}

// identityStore finds the instance's identity store (ListInstances), once.
func (s *Strategy) identityStore(ctx context.Context, c *ssoadmin.Client, instance string) (string, error) {
	s.mu.Lock()
	id := s.stores[instance]
	s.mu.Unlock()
	if id != "" {
		return id, nil
	}
	pages := ssoadmin.NewListInstancesPaginator(c, &ssoadmin.ListInstancesInput{})
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return "", fmt.Errorf("list IAM Identity Center instances: %w", err)
		}
		for _, in := range out.Instances {
			if aws.ToString(in.InstanceArn) == instance {
				id = aws.ToString(in.IdentityStoreId)
			}
		}
	}
	if id == "" {
		return "", &strategy.NotGrantedError{Err: fmt.Errorf("IAM Identity Center instance %s is not visible to the connector role (wrong instance_arn, or the role is not in the instance's account)", instance)}
	}
	s.mu.Lock()
	if s.stores == nil {
		s.stores = map[string]string{}
	}
	s.stores[instance] = id
	s.mu.Unlock()
	return id, nil
}

var userID = regexp.MustCompile(`^([0-9a-f]{10}-|)[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}$`)

// Pin finds the identity-store user id a new grant is made to (see user),
// through the grant's roles. No such user is a NotGrantedError.
func (s *Strategy) Pin(ctx context.Context, g strategy.Grant) (string, error) {
	g.PrincipalID = ""
	t, err := targetOf(g)
	if err != nil {
		return "", err
	}
	c, err := s.clients(ctx, g, t)
	if err != nil {
		return "", err
	}
	id, found, err := s.user(ctx, c, g)
	if err == nil && !found {
		err = s.noUser(g)
	}
	return id, err
}

// user is the grant's identity-store user id: the pinned one when the
// grant has it; otherwise (a new grant's Pin, or a ledger row from before
// ids were pinned) the aws_sso identity when it is a user id or a user
// name, else the user whose user name or email is the requester's email.
// found is false when there is none.
func (s *Strategy) user(ctx context.Context, c *clients, g strategy.Grant) (id string, found bool, err error) {
	if g.PrincipalID != "" {
		return g.PrincipalID, true, nil
	}
	cacheKey := c.store + "|" + strings.ToLower(g.Identity) + "|" + strings.ToLower(g.Requester)
	s.mu.Lock()
	if u, ok := s.users[cacheKey]; ok && time.Now().Before(u.exp) {
		s.mu.Unlock()
		return u.id, true, nil
	}
	s.mu.Unlock()
	type lookup struct{ path, value string }
	var tries []lookup
	if g.Identity != "" {
		if userID.MatchString(g.Identity) {
			out, err := c.ids.DescribeUser(ctx, &identitystore.DescribeUserInput{IdentityStoreId: &c.store, UserId: aws.String(g.Identity)})
			if isNotFound(err) {
				return "", false, nil
			}
			if err != nil {
				return "", false, fmt.Errorf("read identity-store user %s: %w", g.Identity, err)
			}
			id = aws.ToString(out.UserId)
		} else {
			tries = []lookup{{"userName", g.Identity}}
		}
	} else {
		tries = []lookup{{"userName", g.Requester}, {"emails.value", g.Requester}}
	}
	for _, l := range tries {
		if id != "" {
			break
		}
		out, err := c.ids.GetUserId(ctx, &identitystore.GetUserIdInput{IdentityStoreId: &c.store,
			AlternateIdentifier: &istypes.AlternateIdentifierMemberUniqueAttribute{Value: istypes.UniqueAttribute{
				AttributePath: aws.String(l.path), AttributeValue: document.NewLazyDocument(l.value)}}})
		if isNotFound(err) {
			continue
		}
		if err != nil {
			return "", false, fmt.Errorf("find the identity-store user whose %s is %s: %w", l.path, l.value, err)
		}
		id = aws.ToString(out.UserId)
	}
	if id == "" {
		return "", false, nil
	}
	s.mu.Lock()
	if s.users == nil {
		s.users = map[string]cachedUser{}
	}
	s.users[cacheKey] = cachedUser{id: id, exp: time.Now().Add(userCacheTTL)}
	s.mu.Unlock()
	return id, true, nil
}

func (s *Strategy) noUser(g strategy.Grant) error {
	if g.Identity != "" {
		return &strategy.NotGrantedError{Err: fmt.Errorf("no IAM Identity Center user %q (the aws_sso identity of %s)", g.Identity, g.Requester)}
	}
	return &strategy.NotGrantedError{Err: fmt.Errorf("no IAM Identity Center user has the user name or email %s; set the user name with 'sym users set-identity %s aws_sso=<user name>'", g.Requester, g.Requester)}
}

func isNotFound(err error) bool {
	var a *types.ResourceNotFoundException
	var b *istypes.ResourceNotFoundException
	return errors.As(err, &a) || errors.As(err, &b)
}

func isConflict(err error) bool {
	var a *types.ConflictException
	var b *istypes.ConflictException
	return errors.As(err, &a) || errors.As(err, &b)
}

// prepare resolves a grant's target, clients and user.
func (s *Strategy) prepare(ctx context.Context, g strategy.Grant) (target, *clients, string, bool, error) {
	t, err := targetOf(g)
	if err != nil {
		return t, nil, "", false, err
	}
	c, err := s.clients(ctx, g, t)
	if err != nil {
		return t, nil, "", false, err
	}
	id, found, err := s.user(ctx, c, g)
	return t, c, id, found, err
}

// HasAccess reads whether the user holds the assignment (or membership).
func (s *Strategy) HasAccess(ctx context.Context, g strategy.Grant) (bool, error) {
	t, c, user, found, err := s.prepare(ctx, g)
	if err != nil {
		return false, err
	}
	if !found {
		return false, s.noUser(g)
	}
	if t.group != "" {
		m, err := c.membership(ctx, t.group, user)
		return m != "", err
	}
	n, err := c.assignments(ctx, t, user)
	return n > 0, err
}

// Escalate assigns the permission set (or adds the membership) and returns
// only once Identity Center reports it done. An assignment already there
// counts as done. An account outside --allowed-accounts is refused (a guard
// error) before any call: the API checked it when the target was written,
// but the flags may have narrowed since. Removal is never refused.
func (s *Strategy) Escalate(ctx context.Context, g strategy.Grant) error {
	if t, err := targetOf(g); err != nil {
		return err
	} else if t.account != "" {
		if err := s.Chain.Guards.CheckAccount("the assignment of permission set "+t.permissionSet, t.account); err != nil {
			return err
		}
	}
	if err := s.Check.Before(ctx, "aws_sso", g); err != nil {
		return err
	}
	t, c, user, found, err := s.prepare(ctx, g)
	if err != nil {
		return err
	}
	if !found {
		return s.noUser(g)
	}
	if t.group != "" {
		if m, err := c.membership(ctx, t.group, user); err != nil || m != "" {
			return err // already a member (or the read failed)
		}
		_, err := c.ids.CreateGroupMembership(ctx, &identitystore.CreateGroupMembershipInput{IdentityStoreId: &c.store,
			GroupId: aws.String(t.group), MemberId: &istypes.MemberIdMemberUserId{Value: user}})
		switch {
		case isConflict(err):
			return nil // already a member
		case isNotFound(err):
			return &strategy.NotGrantedError{Err: fmt.Errorf("add user %s to identity-store group %s: %w", user, t.group, err)}
		case err != nil:
			return fmt.Errorf("add user %s to identity-store group %s: %w", user, t.group, err)
		}
		return nil
	}
	what := fmt.Sprintf("assign permission set %s in account %s to user %s", t.permissionSet, t.account, user)
	if err := s.settle(ctx, c, t, user, true, what); err != nil {
		return err
	}
	if n, err := c.assignments(ctx, t, user); err != nil {
		return err
	} else if n > 0 {
		return nil
	}
	release, err := c.lim.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	out, err := c.admin.CreateAccountAssignment(ctx, &ssoadmin.CreateAccountAssignmentInput{
		InstanceArn: aws.String(t.instance), PermissionSetArn: aws.String(t.permissionSet),
		PrincipalId: aws.String(user), PrincipalType: types.PrincipalTypeUser,
		TargetId: aws.String(t.account), TargetType: types.TargetTypeAwsAccount})
	if isNotFound(err) {
		return &strategy.NotGrantedError{Err: fmt.Errorf("%s: %w", what, err)}
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	err = s.wait(ctx, "CreateAccountAssignment ("+what+")", out.AccountAssignmentCreationStatus, func(ctx context.Context, id *string) (*types.AccountAssignmentOperationStatus, error) {
		return c.status(ctx, t, unsettledOp{requestID: aws.ToString(id)})
	})
	var failed *FailedError
	if err != nil && !errors.As(err, &failed) {
		// The outcome is unknown: removals wait until this request ends.
		if st := out.AccountAssignmentCreationStatus; st != nil {
			s.unsettle(t, user, unsettledOp{requestID: aws.ToString(st.RequestId)})
		}
		return err
	}
	if failed != nil {
		// FAILED means Identity Center made nothing, and retrying the same
		// call meets the same reason. (A deletion's FAILED says the
		// opposite, that the assignment is still there: it stays an
		// ordinary error, also below.) The user had no such
		// assignment before this call (read above, under the engine's lock
		// of this user and target), so one listed now is this call's
		// leftover: remove it before saying nothing was granted.
		// Only once nothing is listed does the FAILED prove nothing was
		// granted; a leftover that could not be removed is an ordinary
		// error (not a NotGrantedError), so that the engine keeps the
		// grant open and removes it through the ledger.
		release()
		if cerr := s.removeAll(ctx, c, t, user); cerr != nil {
			return fmt.Errorf("%v; and removing what it may have left failed: %w", err, cerr)
		}
		return &strategy.NotGrantedError{Err: err}
	}
	return err
}

// Deescalate removes the assignment (every copy of it) or the membership,
// waiting for Identity Center's final answer. Nothing to remove is done.
func (s *Strategy) Deescalate(ctx context.Context, g strategy.Grant) error {
	t, c, user, found, err := s.prepare(ctx, g)
	if err != nil {
		return err
	}
	if !found {
		return nil // no such user: it holds nothing
	}
	if t.group != "" {
		what := fmt.Sprintf("remove user %s from identity-store group %s", user, t.group)
		for stale, last := 0, ""; ; {
			m, err := c.membership(ctx, t.group, user)
			if err != nil || m == "" {
				return err
			}
			if m == last {
				if stale++; stale >= staleDeletions {
					return stillListed(what, "membership "+m)
				}
			}
			last = m
			_, err = c.ids.DeleteGroupMembership(ctx, &identitystore.DeleteGroupMembershipInput{IdentityStoreId: &c.store, MembershipId: aws.String(m)})
			if err != nil && !isNotFound(err) {
				return fmt.Errorf("%s: %w", what, err)
			}
		}
	}
	return s.removeAll(ctx, c, t, user)
}

// staleDeletions is how many deletions a removal makes that AWS answers
// as done (or as nothing to delete) while the list still shows the same
// access, before it gives up: an ordinary error, which the engine retries
// with back-off, rather than deleting in a loop at the instance's request
// quota, which every grant and removal of the instance shares.
const staleDeletions = 2

func stillListed(what, thing string) error {
	return fmt.Errorf("%s: %s is still listed after %d deletions Identity Center answered as done or as nothing to delete; retried later", what, thing, staleDeletions)
}

// removeAll deletes the user's assignments of the permission set in the
// account until none is listed, once no creation of it whose outcome this
// server has not seen is IN_PROGRESS.
func (s *Strategy) removeAll(ctx context.Context, c *clients, t target, user string) error {
	what := fmt.Sprintf("remove permission set %s in account %s from user %s", t.permissionSet, t.account, user)
	if err := s.settle(ctx, c, t, user, false, what); err != nil {
		return err
	}
	for stale, last := 0, 0; ; {
		n, err := c.assignments(ctx, t, user)
		if err != nil || n == 0 {
			return err
		}
		// Each deletion removes one copy (the emulator keeps duplicates).
		if last != 0 && n >= last {
			if stale++; stale >= staleDeletions {
				return stillListed(what, "the assignment")
			}
		}
		last = n
		if err := s.deleteOnce(ctx, c, t, user, what); err != nil {
			return err
		}
	}
}

func (s *Strategy) deleteOnce(ctx context.Context, c *clients, t target, user, what string) error {
	release, err := c.lim.acquire(ctx)
	if err != nil {
		return err
	}
	defer release()
	out, err := c.admin.DeleteAccountAssignment(ctx, &ssoadmin.DeleteAccountAssignmentInput{
		InstanceArn: aws.String(t.instance), PermissionSetArn: aws.String(t.permissionSet),
		PrincipalId: aws.String(user), PrincipalType: types.PrincipalTypeUser,
		TargetId: aws.String(t.account), TargetType: types.TargetTypeAwsAccount})
	if isNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	err = s.wait(ctx, "DeleteAccountAssignment ("+what+")", out.AccountAssignmentDeletionStatus, func(ctx context.Context, id *string) (*types.AccountAssignmentOperationStatus, error) {
		return c.status(ctx, t, unsettledOp{deletion: true, requestID: aws.ToString(id)})
	})
	var failed *FailedError
	if st := out.AccountAssignmentDeletionStatus; err != nil && !errors.As(err, &failed) && st != nil {
		// The outcome is unknown: grants wait until this request ends.
		s.unsettle(t, user, unsettledOp{deletion: true, requestID: aws.ToString(st.RequestId)})
	}
	return err
}

func assignmentKey(t target, user string) string {
	return t.instance + "|" + t.account + "|" + t.permissionSet + "|" + user
}

// unsettle remembers an operation whose outcome is unknown.
func (s *Strategy) unsettle(t target, user string, op unsettledOp) {
	if op.requestID == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.unsettled == nil {
		s.unsettled = map[string][]unsettledOp{}
	}
	k := assignmentKey(t, user)
	s.unsettled[k] = append(s.unsettled[k], op)
}

// settle reads the status of the assignment's unsettled deletions (for a
// grant, deletion true) or creations (for a removal): one still
// IN_PROGRESS, or whose status cannot be read, is an error, since what it
// does may show in the list after it was read; those that ended are
// forgotten.
func (s *Strategy) settle(ctx context.Context, c *clients, t target, user string, deletion bool, what string) error {
	k := assignmentKey(t, user)
	s.mu.Lock()
	ops := slices.Clone(s.unsettled[k])
	s.mu.Unlock()
	name := "creation"
	if deletion {
		name = "deletion"
	}
	for _, op := range ops {
		if op.deletion != deletion {
			continue
		}
		st, err := c.status(ctx, t, op)
		switch {
		case err != nil && !isNotFound(err):
			return fmt.Errorf("%s: read the status of %s request %s of the assignment, whose outcome is unknown: %w", what, name, op.requestID, err)
		case err == nil && (st == nil || st.Status == types.StatusValuesInProgress):
			return fmt.Errorf("%s: %s request %s of the assignment is still IN_PROGRESS, and what it does may show after this step reads the assignments; retried until it has ended", what, name, op.requestID)
		}
		s.mu.Lock()
		s.unsettled[k] = slices.DeleteFunc(s.unsettled[k], func(x unsettledOp) bool { return x == op })
		if len(s.unsettled[k]) == 0 {
			delete(s.unsettled, k)
		}
		s.mu.Unlock()
	}
	return nil
}

// status reads an assignment operation's status.
func (c *clients) status(ctx context.Context, t target, op unsettledOp) (*types.AccountAssignmentOperationStatus, error) {
	if op.deletion {
		st, err := c.admin.DescribeAccountAssignmentDeletionStatus(ctx, &ssoadmin.DescribeAccountAssignmentDeletionStatusInput{
			InstanceArn: aws.String(t.instance), AccountAssignmentDeletionRequestId: aws.String(op.requestID)})
		if err != nil {
			return nil, err
		}
		return st.AccountAssignmentDeletionStatus, nil
	}
	st, err := c.admin.DescribeAccountAssignmentCreationStatus(ctx, &ssoadmin.DescribeAccountAssignmentCreationStatusInput{
		InstanceArn: aws.String(t.instance), AccountAssignmentCreationRequestId: aws.String(op.requestID)})
	if err != nil {
		return nil, err
	}
	return st.AccountAssignmentCreationStatus, nil
}

// wait polls an assignment operation until SUCCEEDED or FAILED, with
// jittered back-off from PollInterval doubling to PollMax, for at most
// PollTimeout. FAILED is a *FailedError: AWS did not do what was asked
// (a creation granted nothing, a deletion removed nothing). Running out of
// time is an error with the outcome unknown.
func (s *Strategy) wait(ctx context.Context, op string, st *types.AccountAssignmentOperationStatus,
	describe func(context.Context, *string) (*types.AccountAssignmentOperationStatus, error)) error {
	interval, maxInterval, limit := s.PollInterval, s.PollMax, s.PollTimeout
	if interval <= 0 {
		interval = DefaultPollInterval
	}
	if maxInterval < interval {
		maxInterval = max(DefaultPollMax, interval)
	}
	if limit <= 0 {
		limit = DefaultPollTimeout
	}
	start := time.Now()
	for {
		if st == nil {
			return fmt.Errorf("%s: Identity Center answered without a status", op)
		}
		switch st.Status {
		case types.StatusValuesSucceeded:
			return nil
		case types.StatusValuesFailed:
			return &FailedError{Op: op, Reason: aws.ToString(st.FailureReason)}
		}
		if time.Since(start) >= limit {
			return fmt.Errorf("%s: still %s after %s (request %s); the outcome is unknown", op, st.Status, limit, aws.ToString(st.RequestId))
		}
		d := interval/2 + time.Duration(rand.Int64N(int64(interval/2)+1))
		t := time.NewTimer(d)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		interval = min(interval*2, maxInterval)
		next, err := describe(ctx, st.RequestId)
		if err != nil {
			return fmt.Errorf("%s: read its status: %w", op, err)
		}
		st = next
	}
}

// assignments counts the user's assignments of the permission set in the
// account (ListAccountAssignments, every page).
func (c *clients) assignments(ctx context.Context, t target, user string) (int, error) {
	n := 0
	pages := ssoadmin.NewListAccountAssignmentsPaginator(c.admin, &ssoadmin.ListAccountAssignmentsInput{
		InstanceArn: aws.String(t.instance), AccountId: aws.String(t.account), PermissionSetArn: aws.String(t.permissionSet)})
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if err != nil {
			return 0, fmt.Errorf("list the assignments of permission set %s in account %s: %w", t.permissionSet, t.account, err)
		}
		for _, a := range out.AccountAssignments {
			if a.PrincipalType == types.PrincipalTypeUser && aws.ToString(a.PrincipalId) == user {
				n++
			}
		}
	}
	return n, nil
}

// membership finds the user's membership id in the group ("" when none).
func (c *clients) membership(ctx context.Context, group, user string) (string, error) {
	pages := identitystore.NewListGroupMembershipsForMemberPaginator(c.ids, &identitystore.ListGroupMembershipsForMemberInput{
		IdentityStoreId: &c.store, MemberId: &istypes.MemberIdMemberUserId{Value: user}})
	for pages.HasMorePages() {
		out, err := pages.NextPage(ctx)
		if isNotFound(err) {
			return "", nil
		}
		if err != nil {
			return "", fmt.Errorf("list the identity-store groups of user %s: %w", user, err)
		}
		for _, m := range out.GroupMemberships {
			if aws.ToString(m.GroupId) == group {
				return aws.ToString(m.MembershipId), nil
			}
		}
	}
	return "", nil
}

// Holders lists the identity-store user ids (principal ids: aws_sso is a
// strategy.Pinner) that hold the target now: the
// users assigned the permission set in the account, or the group's members.
func (s *Strategy) Holders(ctx context.Context, g strategy.Grant) ([]string, error) {
	t, err := targetOf(g)
	if err != nil {
		return nil, err
	}
	c, err := s.clients(ctx, g, t)
	if err != nil {
		return nil, err
	}
	var out []string
	if t.group != "" {
		pages := identitystore.NewListGroupMembershipsPaginator(c.ids, &identitystore.ListGroupMembershipsInput{
			IdentityStoreId: &c.store, GroupId: aws.String(t.group)})
		for pages.HasMorePages() {
			page, err := pages.NextPage(ctx)
			if err != nil {
				return nil, fmt.Errorf("list the members of identity-store group %s: %w", t.group, err)
			}
			for _, m := range page.GroupMemberships {
				if u, ok := m.MemberId.(*istypes.MemberIdMemberUserId); ok {
					out = append(out, u.Value)
				}
			}
		}
		return out, nil
	}
	pages := ssoadmin.NewListAccountAssignmentsPaginator(c.admin, &ssoadmin.ListAccountAssignmentsInput{
		InstanceArn: aws.String(t.instance), AccountId: aws.String(t.account), PermissionSetArn: aws.String(t.permissionSet)})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list the assignments of permission set %s in account %s: %w", t.permissionSet, t.account, err)
		}
		for _, a := range page.AccountAssignments {
			if a.PrincipalType == types.PrincipalTypeUser {
				out = append(out, aws.ToString(a.PrincipalId))
			}
		}
	}
	return out, nil
}
