// Package strategy defines how the engine grants and takes away access: one
// AccessStrategy per strategy type, each in its own package. A strategy must
// be idempotent: escalating twice, or de-escalating something already gone,
// succeeds and changes nothing.
package strategy

import (
	"context"

	"github.com/opensym/sym/internal/awsauth"
)

// Grant is everything a strategy needs to act for one request.
type Grant struct {
	RequestID string
	Requester string // email
	// Identity is the requester's user name in the target system (an IAM
	// user name for aws_iam).
	Identity string
	Runtime  awsauth.Runtime
	// ConnectorRoleARN is the strategy's permission context role.
	ConnectorRoleARN string
	Region           string
	TargetType       string
	TargetSettings   map[string]string
}

// AccessStrategy grants and removes access.
type AccessStrategy interface {
	// IdentityKey names the user identity the strategy needs ("aws_iam").
	IdentityKey() string
	Escalate(ctx context.Context, g Grant) error
	Deescalate(ctx context.Context, g Grant) error
}
