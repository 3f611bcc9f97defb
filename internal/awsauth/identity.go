package awsauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"github.com/aws/smithy-go/logging"
)

// Identity is who the server's own credentials say it is.
type Identity struct {
	ARN     string `json:"arn"`     // as STS says it: a user, or an assumed-role session
	Account string `json:"account"` // the AWS account id
	// PrincipalARN is what a trust policy names to let this identity in:
	// the user's ARN, or the role's ARN for an assumed-role session (STS
	// does not say the role's path: a role under a path needs it added).
	PrincipalARN string `json:"principal_arn"`
}

// WhoAmI asks STS who cfg's credentials belong to.
func WhoAmI(ctx context.Context, cfg aws.Config) (Identity, error) {
	if cfg.Credentials == nil {
		return Identity{}, &CredentialsError{Err: errors.New("no AWS credentials are configured")}
	}
	out, err := sts.NewFromConfig(cfg).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return Identity{}, err
	}
	id := Identity{ARN: aws.ToString(out.Arn), Account: aws.ToString(out.Account)}
	id.PrincipalARN = PrincipalOf(id.ARN)
	return id, nil
}

// PrincipalOf turns an assumed-role session ARN
// (arn:aws:sts::ACCOUNT:assumed-role/NAME/SESSION) into its role's ARN
// (arn:aws:iam::ACCOUNT:role/NAME); any other ARN is its own principal.
// An STS ARN of a user (what moto answers) is the user's IAM ARN.
func PrincipalOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[2] != "sts" {
		return arn
	}
	switch {
	case strings.HasPrefix(parts[5], "assumed-role/"):
		name, _, _ := strings.Cut(strings.TrimPrefix(parts[5], "assumed-role/"), "/")
		return fmt.Sprintf("arn:%s:iam::%s:role/%s", parts[1], parts[4], name)
	case strings.HasPrefix(parts[5], "user/"):
		return fmt.Sprintf("arn:%s:iam::%s:%s", parts[1], parts[4], parts[5])
	}
	return arn
}

// IsCredentialsError reports an AWS call that failed because the server has
// no usable credentials of its own (nothing in the default chain, an
// expired profile), as opposed to AWS refusing what it asked.
func IsCredentialsError(err error) bool {
	if err == nil {
		return false
	}
	var ce *CredentialsError
	if errors.As(err, &ce) {
		return true
	}
	s := err.Error()
	for _, m := range []string{"get credentials:", "failed to retrieve credentials", "failed to refresh cached credentials",
		"no EC2 IMDS role found", "ExpiredToken", "InvalidClientTokenId", "SignatureDoesNotMatch"} {
		if strings.Contains(s, m) {
			return true
		}
	}
	return false
}

// CredentialsError is a check or call that failed for want of the
// server's own credentials.
type CredentialsError struct{ Err error }

func (e *CredentialsError) Error() string {
	return "sym server has no usable AWS credentials of its own: " + e.Err.Error() + "; " + CredentialsHelp
}

func (e *CredentialsError) Unwrap() error { return e.Err }

// CredentialsHelp says how to give sym server credentials.
const CredentialsHelp = "give sym server AWS credentials through the SDK's default chain (AWS_PROFILE, AWS_ACCESS_KEY_ID and " +
	"AWS_SECRET_ACCESS_KEY, or an instance or task role); against an emulator such as moto_server set AWS_ENDPOINT_URL and " +
	"test keys (AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test)"

// SDKLogger sends the AWS SDK's own log lines (warnings about checksums,
// retries, ...) into log, so that a JSON log stays JSON.
func SDKLogger(log *slog.Logger) logging.Logger {
	return logging.LoggerFunc(func(c logging.Classification, format string, v ...any) {
		level := slog.LevelInfo
		if c == logging.Warn {
			level = slog.LevelWarn
		}
		log.Log(context.Background(), level, "aws sdk: "+fmt.Sprintf(format, v...))
	})
}
