// Package strategy defines how the engine grants and takes away access: one
// AccessStrategy per strategy type, each in its own package (awsiam/ today;
// SSO account assignments, SSO group memberships and Lambda next).
//
// The engine hands a strategy a Grant: everything the strategy needs to act,
// resolved and pinned once before the grant is made (package ledger stores
// it). The strategy never looks anything up in sym's entities: a removal goes
// through exactly the roles, External ID, account, identity and target the
// grant used, whatever the entities say today.
//
// What a strategy must do:
//
//   - Key canonicalises who (the identity) and what (the target) a grant is
//     about, account included, so that the ledger can count overlapping
//     grants: sym removes access only when the last open grant for the same
//     Key ends, and never removes what the identity held before sym granted.
//   - HasAccess reads, and never writes, whether the identity holds the
//     target's access now; the engine asks before it grants, to record a
//     standing member.
//   - Escalate and Deescalate are idempotent: escalating twice, or
//     de-escalating something already gone, succeeds and changes nothing.
//   - Holders lists every identity that holds the target's access now (the
//     reconciler compares it with the ledger); Grant.Identity is ignored.
//     A Pinner's holders are principal ids (Grant.PrincipalID), others'
//     are identities (Grant.Identity).
//   - A strategy whose target system names users by an id of its own,
//     which sym's identity only leads to (an identity-store user id found
//     from a user name or an email), is a Pinner: the engine resolves that
//     id once, before Key, when a grant is made, and pins it in the grant.
//     Key, HasAccess, Escalate and Deescalate then use the pinned id and
//     never look the user up again: a removal (or the reconciler) acts on
//     the user the grant was made to, whatever the directory says today.
//   - An error that retrying cannot fix and that proves nothing was granted
//     (the IAM user or group does not exist) is a *NotGrantedError; every
//     other error may be transient, and the engine retries it.
package strategy

import (
	"context"
	"errors"
	"time"

	"github.com/opensym/sym/internal/awsauth"
)

// Grant is everything a strategy needs to act for one request, pinned when
// the grant is made.
type Grant struct {
	RequestID string `json:"request_id"`
	Requester string `json:"requester"` // email
	// StrategyType is the strategy's type ("aws_iam").
	StrategyType string `json:"strategy_type"`
	// Identity is the requester's user name in the target system (an IAM
	// user name for aws_iam).
	Identity string `json:"identity"`
	// PrincipalID is the target system's own id of the identity (the
	// identity-store user id for aws_sso), resolved by a Pinner when the
	// grant is made; empty for other strategies, and in ledger rows written
	// before it was pinned.
	PrincipalID string `json:"principal_id,omitempty"`
	// Runtime is the runtime connector role, External ID included.
	Runtime awsauth.Runtime `json:"runtime"`
	// ConnectorRoleARN is the strategy's permission context role.
	ConnectorRoleARN string `json:"connector_role_arn"`
	// Account is the account the connector role acts in.
	Account        string            `json:"account"`
	Region         string            `json:"region"`
	TargetType     string            `json:"target_type"`
	TargetSettings map[string]string `json:"target_settings"`
	// StrategySettings are the strategy's own settings (instance_arn for
	// aws_sso), pinned like the rest.
	StrategySettings map[string]string `json:"strategy_settings,omitempty"`
	// Request is what the request said, for strategies that pass it on
	// (aws_lambda's payload).
	Request RequestInfo `json:"request"`
	// Step is the step being taken now; the engine sets it on every call.
	Step Step `json:"-"`
}

// RequestInfo is a request as a strategy may show it to the target system.
type RequestInfo struct {
	Org         string        `json:"org,omitempty"`
	Flow        string        `json:"flow,omitempty"`
	Reason      string        `json:"reason,omitempty"`
	Duration    time.Duration `json:"duration,omitempty"`
	Approver    string        `json:"approver,omitempty"`
	TargetID    string        `json:"target_id,omitempty"`
	TargetName  string        `json:"target_name,omitempty"`
	TargetLabel string        `json:"target_label,omitempty"`
	// Fields are the flow's other prompt fields as the requester filled
	// them in, each typed as the flow declares it (a number, a bool, a
	// list of strings or numbers, else text).
	Fields map[string]any `json:"fields,omitempty"`
}

// Step says who takes the current step and why.
type Step struct {
	// Actor is the email of whoever caused it (the approver for an
	// escalation, the revoker for a revoke); empty for the platform's own.
	Actor string
	// DeescalateType is "scheduled" when the deadline came, "revoke" on a
	// revoke, "cleanup" when a failed grant is undone.
	DeescalateType string
	At             time.Time
}

// Key names who and what a grant is about, canonically (case folded where
// the target system ignores case), account included.
type Key struct {
	Identity string
	Target   string
}

// AccessStrategy grants and removes access. See the package comment for
// what each method must do.
type AccessStrategy interface {
	// IdentityKey names the user identity the strategy needs ("aws_iam").
	IdentityKey() string
	Key(g Grant) (Key, error)
	HasAccess(ctx context.Context, g Grant) (bool, error)
	Escalate(ctx context.Context, g Grant) error
	Deescalate(ctx context.Context, g Grant) error
	Holders(ctx context.Context, g Grant) ([]string, error)
}

// Pinner is a strategy that resolves the target system's id of a grant's
// identity (see the package comment). Pin answers that id for g (whose
// PrincipalID is empty); no such user is a *NotGrantedError.
type Pinner interface {
	Pin(ctx context.Context, g Grant) (string, error)
}

// HolderGrant is g naming the holder that strat's Holders listed: as its
// principal id for a Pinner, as its identity otherwise.
func HolderGrant(strat AccessStrategy, g Grant, holder string) Grant {
	if _, ok := strat.(Pinner); ok {
		g.PrincipalID = holder
	} else {
		g.Identity = holder
	}
	return g
}

// Preparer is a strategy whose grant starts with a read of the target that
// can also say whether the identity holds the access already (aws_iam: one
// GetGroup returns the group's path, which the guard rails check, and its
// members). The engine then makes one read where it would make two:
//
//   - Prepare reads the target once, refuses it (a guard error) when the
//     guard rails do, and reports whether the identity holds the access now.
//     It never writes. A target that does not exist is a *NotGrantedError.
//   - EscalatePrepared grants as Escalate does, without reading the target
//     again: the engine calls it only after a Prepare of the same grant
//     passed in the same attempt to grant.
//
// A grant resumed from the ledger after a crash calls Escalate, which makes
// its own checks.
type Preparer interface {
	Prepare(ctx context.Context, g Grant) (standing bool, err error)
	EscalatePrepared(ctx context.Context, g Grant) error
}

// NotGrantedError says that AWS refused a grant in a way retrying cannot
// change, and that nothing was granted.
type NotGrantedError struct{ Err error }

func (e *NotGrantedError) Error() string { return e.Err.Error() }
func (e *NotGrantedError) Unwrap() error { return e.Err }

// ErrCannotList is what Holders answers when the target system cannot be
// asked who holds access (a Lambda function): there is nothing to reconcile.
var ErrCannotList = errors.New("this strategy cannot list who holds access")

// IsNotGranted reports a *NotGrantedError.
func IsNotGranted(err error) bool {
	var n *NotGrantedError
	return errors.As(err, &n)
}
