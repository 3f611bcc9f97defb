package connector

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/iam"

	"github.com/opensym/sym/internal/awsauth"
	"github.com/opensym/sym/internal/model"
	"github.com/opensym/sym/internal/policy"
)

// IAMAPI is the part of the IAM client that verification uses: reads only.
// *iam.Client satisfies it.
type IAMAPI interface {
	GetRole(ctx context.Context, in *iam.GetRoleInput, opts ...func(*iam.Options)) (*iam.GetRoleOutput, error)
	ListAttachedRolePolicies(ctx context.Context, in *iam.ListAttachedRolePoliciesInput, opts ...func(*iam.Options)) (*iam.ListAttachedRolePoliciesOutput, error)
	GetPolicy(ctx context.Context, in *iam.GetPolicyInput, opts ...func(*iam.Options)) (*iam.GetPolicyOutput, error)
	GetPolicyVersion(ctx context.Context, in *iam.GetPolicyVersionInput, opts ...func(*iam.Options)) (*iam.GetPolicyVersionOutput, error)
	ListRolePolicies(ctx context.Context, in *iam.ListRolePoliciesInput, opts ...func(*iam.Options)) (*iam.ListRolePoliciesOutput, error)
	GetRolePolicy(ctx context.Context, in *iam.GetRolePolicyInput, opts ...func(*iam.Options)) (*iam.GetRolePolicyOutput, error)
}

var _ IAMAPI = (*iam.Client)(nil)

// Finding is one checked fact about a role. OK false is a difference from
// what the module promises.
type Finding struct {
	OK      bool   `json:"ok"`
	Subject string `json:"subject"` // "trust policy", "policy SymRuntimeProd", ...
	Detail  string `json:"detail"`
}

// RoleReport is what verification found about one connector role.
type RoleReport struct {
	Connector string    `json:"connector"` // "runtime connector", "IAM connector", "Lambda connector"
	RoleARN   string    `json:"role_arn"`
	Findings  []Finding `json:"findings"`
}

// OK reports whether the role has no difference.
func (r RoleReport) OK() bool {
	for _, f := range r.Findings {
		if !f.OK {
			return false
		}
	}
	return true
}

// Report is the outcome of Verify.
type Report struct {
	Roles []RoleReport `json:"roles"`
}

// OK reports whether every role is what its module promises.
func (r Report) OK() bool {
	for _, role := range r.Roles {
		if !role.OK() {
			return false
		}
	}
	return true
}

// Differences lists every difference, each naming its role.
func (r Report) Differences() []string {
	var out []string
	for _, role := range r.Roles {
		for _, f := range role.Findings {
			if !f.OK {
				out = append(out, fmt.Sprintf("%s %s: %s: %s", role.Connector, role.RoleARN, f.Subject, f.Detail))
			}
		}
	}
	return out
}

// Text renders the report for a terminal.
func (r Report) Text() string {
	var b strings.Builder
	for _, role := range r.Roles {
		verdict := "as the module promises"
		if !role.OK() {
			verdict = "DIFFERS from what the module promises"
		}
		fmt.Fprintf(&b, "%s %s: %s\n", role.Connector, role.RoleARN, verdict)
		for _, f := range role.Findings {
			mark := "ok  "
			if !f.OK {
				mark = "FAIL"
			}
			fmt.Fprintf(&b, "  %s %s: %s\n", mark, f.Subject, f.Detail)
		}
	}
	if r.OK() {
		b.WriteString("verified: every connector role is exactly as narrow as its module promises\n")
	} else {
		fmt.Fprintf(&b, "%d difference(s) found\n", len(r.Differences()))
	}
	return b.String()
}

// Err is nil when the report is OK, and otherwise an error listing the
// differences.
func (r Report) Err() error {
	if r.OK() {
		return nil
	}
	return fmt.Errorf("connector roles differ from their modules: %s", strings.Join(r.Differences(), "; "))
}

// VerifyRuntime is the check sym server runs before it first uses a
// runtime: settings are the runtime permission-context integration's
// (role_arn, external_id, account_id_safelist); trustedPrincipals are the
// principals the trust policy must name (nil: the role's account root).
// Addon policies found on the role are accepted when they are exactly what
// the addon modules make. It answers nil or an error naming every
// difference, and the full report either way.
func VerifyRuntime(ctx context.Context, api IAMAPI, settings map[string]string, trustedPrincipals []string) (Report, error) {
	return VerifyRuntimeWith(ctx, api, settings, trustedPrincipals, awsauth.Guards{})
}

// VerifyRuntimeWith is VerifyRuntime under the server's guard rails (a
// policy_arns entry naming an admin-level AWS-managed policy is a
// difference unless guards.AllowBroadPolicies).
func VerifyRuntimeWith(ctx context.Context, api IAMAPI, settings map[string]string, trustedPrincipals []string, guards awsauth.Guards) (Report, error) {
	e, err := ExpectationFromSettings(settings)
	if err != nil {
		return Report{}, err
	}
	e.AllowBroadPolicies = guards.AllowBroadPolicies
	if trustedPrincipals != nil {
		e.TrustedPrincipals = trustedPrincipals
	}
	rep, err := Verify(ctx, api, e)
	if err != nil {
		return rep, err
	}
	return rep, rep.Err()
}

// VerifyStrategyConnector is the check sym server runs before it first
// grants through a strategy connector role: strategyType aws_sso or
// aws_lambda, roleARN the strategy's permission context role, trusted by
// runtimeRoleARN only. What the server cannot know (whether the SSO
// connector has sso_account_assignment_enabled, which functions the Lambda
// connector lists) is read from the role, and each policy found must still
// be exactly the module's. The error is for a role that could not be read;
// differences are in the report. Other strategy types answer an empty
// report.
func VerifyStrategyConnector(ctx context.Context, api IAMAPI, strategyType, runtimeRoleARN, roleARN string) (RoleReport, error) {
	return verifyStrategyConnector(ctx, api, awsauth.Guards{}, strategyType, runtimeRoleARN, roleARN)
}

func verifyStrategyConnector(ctx context.Context, api IAMAPI, guards awsauth.Guards, strategyType, runtimeRoleARN, roleARN string) (RoleReport, error) {
	r, err := parseRoleARN(roleARN)
	if err != nil {
		return RoleReport{}, fmt.Errorf("connector role: %w", err)
	}
	v := verifier{api: api, e: Expectation{RuntimeRoleARN: runtimeRoleARN, GroupPaths: guards.GroupPaths}}
	var rep RoleReport
	switch strategyType {
	case "aws_sso":
		rep, err = v.sso(ctx, r, SSOConnector{RoleARN: roleARN, DetectAccountAssignment: true})
	case "aws_lambda":
		rep, err = v.strategy(ctx, "Lambda connector", "SymLambda", r, nil)
	case "aws_iam":
		rep, err = v.iamConnector(ctx, r, nil)
	default:
		return RoleReport{}, nil
	}
	return rep, err
}

// StrategyCheck is the server's check of aws_sso and aws_lambda connector
// roles (strategy.ConnectorCheck.Check): a role that differs from its
// module is an *awsauth.GuardError naming every difference; a role that
// could not be read is a plain (transient) error.
func StrategyCheck(api IAMAPI) func(ctx context.Context, strategyType, runtimeRoleARN, roleARN string) error {
	return StrategyCheckWith(api, awsauth.Guards{})
}

// StrategyCheckWith is StrategyCheck under the server's guard rails: an
// aws_iam connector role (strategyType "aws_iam") must also change
// membership of groups under guards' allowed group paths only.
func StrategyCheckWith(api IAMAPI, guards awsauth.Guards) func(ctx context.Context, strategyType, runtimeRoleARN, roleARN string) error {
	return func(ctx context.Context, strategyType, runtimeRoleARN, roleARN string) error {
		rep, err := verifyStrategyConnector(ctx, api, guards, strategyType, runtimeRoleARN, roleARN)
		if err != nil {
			return err
		}
		if !rep.OK() {
			return &awsauth.GuardError{Reason: fmt.Sprintf("the %s role %s is not what its module promises, so sym will not use it: %s",
				rep.Connector, roleARN, strings.Join(Report{Roles: []RoleReport{rep}}.Differences(), "; "))}
		}
		return nil
	}
}

// MembershipCheck is the server's check of an IAM connector role before a
// user is added to a group through it (awsauth.Chain.MembershipCheck): the
// role is what the iam-connector module makes (trusted by the runtime role
// only; its policy the module's, for whatever groups it names) and lets
// sym change membership of groups under guards' allowed group paths only.
// A refusal is an *awsauth.GuardError naming every difference.
func MembershipCheck(api IAMAPI, guards awsauth.Guards) func(ctx context.Context, rt awsauth.Runtime, roleARN string) error {
	check := StrategyCheckWith(api, guards)
	return func(ctx context.Context, rt awsauth.Runtime, roleARN string) error {
		return check(ctx, "aws_iam", rt.RoleARN, roleARN)
	}
}

// Verify reads the runtime connector role and each strategy connector role
// of e with IAM read calls and reports how each compares with its module.
// An error means the roles could not be read at all (bad input, AWS
// unreachable, access denied); a role that does not exist is a finding.
func Verify(ctx context.Context, api IAMAPI, e Expectation) (Report, error) {
	rt, err := parseRoleARN(e.RuntimeRoleARN)
	if err != nil {
		return Report{}, fmt.Errorf("runtime role: %w", err)
	}
	if e.ExternalID == "" {
		return Report{}, errors.New("the External ID to expect is required")
	}
	for _, a := range e.AccountSafelist {
		if !model.IsAccountID(a) {
			return Report{}, fmt.Errorf("account safelist entry %q is not a 12-digit account id", a)
		}
	}
	for _, a := range e.Addons {
		if !slices.Contains(Addons, a) {
			return Report{}, fmt.Errorf("unknown addon %q (known: %s)", a, strings.Join(Addons, ", "))
		}
	}
	if slices.Contains(e.Addons, AddonKinesisDataStream) && len(e.StreamARNs) == 0 {
		return Report{}, fmt.Errorf("the %s addon needs the stream ARNs it was given", AddonKinesisDataStream)
	}
	env := e.Environment
	if env == "" {
		env = strings.ToLower(strings.TrimPrefix(rt.Name, "SymRuntime"))
	}
	v := verifier{api: api, e: e, env: env}
	var rep Report
	runtimeReport, err := v.runtime(ctx, rt)
	if err != nil {
		return Report{}, err
	}
	rep.Roles = append(rep.Roles, runtimeReport)
	for _, c := range e.IAMConnectors {
		r, err := parseRoleARN(c.RoleARN)
		if err != nil {
			return Report{}, fmt.Errorf("IAM connector role: %w", err)
		}
		groups := c.Groups
		if len(groups) == 0 {
			groups = DefaultGroups
		}
		rr, err := v.iamConnector(ctx, r, groups)
		if err != nil {
			return Report{}, err
		}
		rep.Roles = append(rep.Roles, rr)
	}
	for _, c := range e.LambdaConnectors {
		r, err := parseRoleARN(c.RoleARN)
		if err != nil {
			return Report{}, fmt.Errorf("Lambda connector role: %w", err)
		}
		rr, err := v.strategy(ctx, "Lambda connector", "SymLambda", r, LambdaConnectorPolicy(c.FunctionARNs))
		if err != nil {
			return Report{}, err
		}
		rep.Roles = append(rep.Roles, rr)
	}
	for _, c := range e.SSOConnectors {
		r, err := parseRoleARN(c.RoleARN)
		if err != nil {
			return Report{}, fmt.Errorf("SSO connector role: %w", err)
		}
		rr, err := v.sso(ctx, r, c)
		if err != nil {
			return Report{}, err
		}
		rep.Roles = append(rep.Roles, rr)
	}
	return rep, nil
}

type verifier struct {
	api IAMAPI
	e   Expectation
	env string
}

type roleFacts struct {
	exists    bool
	actualARN string
	trust     *policy.Document
	attached  map[string]string // ARN -> name
	inline    map[string]*policy.Document
	// managed holds the attached policies' documents once read (ARN ->
	// document), so that a second look costs no IAM call.
	managed map[string]*policy.Document
}

func isNoSuchEntity(err error) bool {
	return err != nil && strings.Contains(err.Error(), "NoSuchEntity")
}

func (v verifier) read(ctx context.Context, r roleARN) (roleFacts, error) {
	out, err := v.api.GetRole(ctx, &iam.GetRoleInput{RoleName: aws.String(r.Name)})
	if isNoSuchEntity(err) {
		return roleFacts{}, nil
	}
	if err != nil {
		return roleFacts{}, fmt.Errorf("read role %s: %w", r.ARN, err)
	}
	f := roleFacts{exists: true, actualARN: aws.ToString(out.Role.Arn), attached: map[string]string{}, inline: map[string]*policy.Document{},
		managed: map[string]*policy.Document{}}
	if f.trust, err = policy.Parse(aws.ToString(out.Role.AssumeRolePolicyDocument)); err != nil {
		return f, fmt.Errorf("trust policy of %s: %w", r.ARN, err)
	}
	var marker *string
	for {
		page, err := v.api.ListAttachedRolePolicies(ctx, &iam.ListAttachedRolePoliciesInput{RoleName: aws.String(r.Name), Marker: marker})
		if err != nil {
			return f, fmt.Errorf("list policies attached to %s: %w", r.ARN, err)
		}
		for _, p := range page.AttachedPolicies {
			f.attached[aws.ToString(p.PolicyArn)] = aws.ToString(p.PolicyName)
		}
		if !page.IsTruncated {
			break
		}
		marker = page.Marker
	}
	marker = nil
	for {
		page, err := v.api.ListRolePolicies(ctx, &iam.ListRolePoliciesInput{RoleName: aws.String(r.Name), Marker: marker})
		if err != nil {
			return f, fmt.Errorf("list inline policies of %s: %w", r.ARN, err)
		}
		for _, name := range page.PolicyNames {
			p, err := v.api.GetRolePolicy(ctx, &iam.GetRolePolicyInput{RoleName: aws.String(r.Name), PolicyName: aws.String(name)})
			if err != nil {
				return f, fmt.Errorf("read inline policy %s of %s: %w", name, r.ARN, err)
			}
			d, err := policy.Parse(aws.ToString(p.PolicyDocument))
			if err != nil {
				return f, fmt.Errorf("inline policy %s of %s: %w", name, r.ARN, err)
			}
			f.inline[name] = d
		}
		if !page.IsTruncated {
			break
		}
		marker = page.Marker
	}
	return f, nil
}

func (v verifier) managedDocument(ctx context.Context, arn string) (*policy.Document, error) {
	p, err := v.api.GetPolicy(ctx, &iam.GetPolicyInput{PolicyArn: aws.String(arn)})
	if err != nil {
		return nil, fmt.Errorf("read policy %s: %w", arn, err)
	}
	pv, err := v.api.GetPolicyVersion(ctx, &iam.GetPolicyVersionInput{PolicyArn: aws.String(arn), VersionId: p.Policy.DefaultVersionId})
	if err != nil {
		return nil, fmt.Errorf("read policy %s version %s: %w", arn, aws.ToString(p.Policy.DefaultVersionId), err)
	}
	d, err := policy.Parse(aws.ToString(pv.PolicyVersion.Document))
	if err != nil {
		return nil, fmt.Errorf("policy %s: %w", arn, err)
	}
	return d, nil
}

func (v verifier) runtime(ctx context.Context, r roleARN) (RoleReport, error) {
	rep := RoleReport{Connector: "runtime connector", RoleARN: r.ARN}
	add := func(ok bool, subject, format string, args ...any) {
		rep.Findings = append(rep.Findings, Finding{OK: ok, Subject: subject, Detail: fmt.Sprintf(format, args...)})
	}
	wantName := "SymRuntime" + TitleCase(v.env)
	add(r.Path == "/sym/" && r.Name == wantName, "name", "the role is %s%s (the module makes /sym/%s)", r.Path, r.Name, wantName)

	facts, err := v.read(ctx, r)
	if err != nil {
		return rep, err
	}
	if !facts.exists {
		add(false, "role", "the role does not exist")
		return rep, nil
	}
	if facts.actualARN != r.ARN {
		add(false, "role", "a role of that name exists as %s, not %s", facts.actualARN, r.ARN)
	}

	principals := v.e.TrustedPrincipals
	if len(principals) == 0 {
		principals = []string{fmt.Sprintf("arn:%s:iam::%s:root", r.Partition, r.Account)}
	}
	rep.Findings = append(rep.Findings, checkTrust(facts.trust, principals, v.e.ExternalID)...)
	for _, p := range principals {
		if principalAccount(p) == OriginalVendorAccount {
			add(false, "trust", "%s, in the original Sym's production account %s (the vendor's), may assume the role: it knows the External ID. Remove that account (sym_account_id, sym_account_ids; docs/migrating.md step 3)", p, OriginalVendorAccount)
		}
	}

	// Permissions: the assume-roles policy, addons, declared extras.
	accounts := append([]string{r.Account}, v.e.AccountSafelist...)
	want := map[string]expectedPolicy{
		r.policyARN(wantName): {subject: "assume-roles policy " + wantName, doc: AssumeRolesPolicy(r.Partition, slices.Compact(accounts))},
	}
	addons := map[string]expectedPolicy{
		r.policyARN("SymSecretsManager" + TitleCase(v.env)):    {subject: "addon " + AddonSecretsManager, doc: SecretsManagerPolicy(r.Partition, r.Account, v.env, v.e.SecretsTagName), addon: AddonSecretsManager},
		r.policyARN("SymKinesisFirehose" + TitleCase(v.env)):   {subject: "addon " + AddonKinesisFirehose, doc: KinesisFirehosePolicy(r.Partition, r.Account, v.env), addon: AddonKinesisFirehose},
		r.policyARN("SymKinesisDataStream" + TitleCase(v.env)): {subject: "addon " + AddonKinesisDataStream, doc: KinesisDataStreamPolicy(v.e.StreamARNs), addon: AddonKinesisDataStream},
	}
	for arn, p := range addons {
		_, attached := facts.attached[arn]
		if slices.Contains(v.e.Addons, p.addon) || (v.e.DetectAddons && attached) {
			if p.addon == AddonKinesisDataStream && len(v.e.StreamARNs) == 0 {
				p.anyStreams = true
			}
			if p.addon == AddonSecretsManager && v.e.SecretsTagName == "" && v.e.DetectAddons {
				// The server knows no addon_params: the module's policy for
				// whichever tag_name the found one names.
				p.detect = func(got *policy.Document) *policy.Document {
					return SecretsManagerPolicy(r.Partition, r.Account, v.env, secretsTagOf(got))
				}
			}
			want[arn] = p
		}
	}
	findings, err := v.checkAttached(ctx, facts, want, v.e.DeclaredPolicyARNs)
	if err != nil {
		return rep, err
	}
	rep.Findings = append(rep.Findings, findings...)
	// The server's rule on policy_arns (awsauth.Guards.CheckPolicyARNs).
	guards := awsauth.Guards{AllowBroadPolicies: v.e.AllowBroadPolicies}
	for _, arn := range v.e.DeclaredPolicyARNs {
		if err := guards.CheckPolicyARNs(arn); err != nil {
			rep.Findings = append(rep.Findings, Finding{OK: false, Subject: "extra policy " + arn, Detail: strings.TrimPrefix(err.Error(), "guard rail: ")})
		}
	}
	rep.Findings = append(rep.Findings, checkInline(facts)...)
	if len(v.e.Destinations) > 0 || len(v.e.Secrets) > 0 || len(v.e.Addons) > 0 {
		docs, err := v.attachedDocuments(ctx, facts)
		if err != nil {
			return rep, err
		}
		rep.Findings = append(rep.Findings, v.checkCoverage(r, docs)...)
	}
	return rep, nil
}

type expectedPolicy struct {
	subject    string
	doc        *policy.Document
	addon      string
	anyStreams bool // kinesis-data-stream found by detection: stream ARNs unknown
	// detect, when set, builds the expected document from what the found
	// one names (an iam-connector policy's groups); nil: nothing usable.
	detect func(got *policy.Document) *policy.Document
}

func checkTrust(trust *policy.Document, principals []string, externalID string) []Finding {
	var out []Finding
	add := func(ok bool, format string, args ...any) {
		out = append(out, Finding{OK: ok, Subject: "trust policy", Detail: fmt.Sprintf(format, args...)})
	}
	var canonical []string
	for _, p := range principals {
		canonical = append(canonical, policy.CanonicalPrincipal(p))
	}
	slices.Sort(canonical)
	canonical = slices.Compact(canonical)

	// Who may assume the role, and under which condition, statement by statement.
	var got []string
	for _, s := range trust.Statements {
		if s.Effect != "Allow" {
			continue
		}
		if _, ok := s.Principal["*"]; ok {
			add(false, "anyone (Principal \"*\") may assume the role: %s", s.Describe())
		}
		for _, p := range s.Principal["AWS"] {
			if p == "*" {
				// Whatever the expectation says: no module trusts every
				// account, and the External ID is no secret (every reader
				// of the runtime's settings has it).
				add(false, "anyone in any AWS account (Principal AWS \"*\") may assume the role with the External ID: %s", s.Describe())
			}
			got = append(got, policy.CanonicalPrincipal(p))
		}
		for k, v := range s.Principal {
			if k != "AWS" && k != "*" {
				add(false, "%s principals %s may assume the role; the module trusts only AWS principals", k, strings.Join(v, ", "))
			}
		}
		ids := s.Condition["StringEquals"]["sts:ExternalId"]
		for k, v := range s.Condition["StringEquals"] {
			if strings.EqualFold(k, "sts:ExternalId") {
				ids = v
			}
		}
		switch {
		case len(ids) == 0:
			add(false, "%s may assume the role WITHOUT an External ID (no StringEquals sts:ExternalId condition)", s.Principal.String())
		case len(ids) != 1 || ids[0] != externalID:
			add(false, "the role requires External ID %q, expected %q", strings.Join(ids, ", "), externalID)
		}
	}
	slices.Sort(got)
	got = slices.Compact(got)
	for _, p := range got {
		if !slices.Contains(canonical, p) {
			add(false, "%s may assume the role, which is not an expected principal (expected: %s)", p, strings.Join(canonical, ", "))
		}
	}
	for _, p := range canonical {
		if !slices.Contains(got, p) {
			add(false, "%s is expected to be trusted but is not named", p)
		}
	}
	diff := policy.Compare(RuntimeTrustPolicy(canonical, externalID), trust)
	if diff.Empty() {
		add(true, "only %s may assume the role, and only with External ID %q", strings.Join(canonical, ", "), externalID)
	} else {
		for _, s := range diff.Unexpected {
			add(false, "statement the module does not write: %s", s.Describe())
		}
	}
	return out
}

// checkAttached compares the attached managed policies with want; declared
// ones are listed with what they allow, anything else is a difference.
func (v verifier) checkAttached(ctx context.Context, facts roleFacts, want map[string]expectedPolicy, declared []string) ([]Finding, error) {
	var out []Finding
	var arns []string
	for arn := range facts.attached {
		arns = append(arns, arn)
	}
	slices.Sort(arns)
	for _, arn := range arns {
		got, err := v.managedDocument(ctx, arn)
		if err != nil {
			return nil, err
		}
		if facts.managed != nil {
			facts.managed[arn] = got
		}
		exp, expected := want[arn]
		switch {
		case expected:
			out = append(out, comparePolicy(exp, got)...)
		case slices.Contains(declared, arn):
			out = append(out, Finding{OK: true, Subject: "extra policy " + arn, Detail: "declared in policy_arns; " + describeAll(got)})
		default:
			out = append(out, Finding{OK: false, Subject: "extra policy " + arn, Detail: "attached but not declared: " + describeAll(got)})
		}
	}
	var missing []string
	for arn := range want {
		if _, ok := facts.attached[arn]; !ok {
			missing = append(missing, arn)
		}
	}
	slices.Sort(missing)
	for _, arn := range missing {
		out = append(out, Finding{OK: false, Subject: want[arn].subject, Detail: fmt.Sprintf("%s is not attached to the role", arn)})
	}
	for _, arn := range declared {
		if _, ok := facts.attached[arn]; !ok {
			out = append(out, Finding{OK: false, Subject: "extra policy " + arn, Detail: "declared in policy_arns but not attached"})
		}
	}
	return out, nil
}

func comparePolicy(exp expectedPolicy, got *policy.Document) []Finding {
	if exp.detect != nil {
		exp.doc, exp.detect = exp.detect(got), nil
		if exp.doc == nil {
			return []Finding{{OK: false, Subject: exp.subject, Detail: "names no IAM group it may change: " + describeAll(got)}}
		}
	}
	if exp.anyStreams {
		return checkAnyStreams(exp, got)
	}
	if exp.doc == nil {
		return checkAnyFunctions(exp, got)
	}
	diff := policy.Compare(exp.doc, got)
	if diff.Empty() {
		return []Finding{{OK: true, Subject: exp.subject, Detail: describeAll(got)}}
	}
	var out []Finding
	for _, s := range diff.Unexpected {
		out = append(out, Finding{OK: false, Subject: exp.subject, Detail: "grants what the module does not: " + s.Describe()})
	}
	for _, s := range diff.Missing {
		out = append(out, Finding{OK: false, Subject: exp.subject, Detail: "lacks the module's statement: " + s.Describe()})
	}
	return out
}

// secretsTagOf answers the tag key of a secretsmgr addon policy's
// StringEquals aws:ResourceTag/<key> condition, when it names exactly one
// ("" otherwise: the module's default, SymEnv, is then expected).
func secretsTagOf(d *policy.Document) string {
	var keys []string
	for _, s := range d.Statements {
		for k := range s.Condition["StringEquals"] {
			if len(k) > len("aws:ResourceTag/") && strings.EqualFold(k[:len("aws:ResourceTag/")], "aws:ResourceTag/") {
				keys = append(keys, k[len("aws:ResourceTag/"):])
			}
		}
	}
	if len(keys) != 1 {
		return ""
	}
	return keys[0]
}

// moduleStreamARN is the shape of a stream ARN the kinesis-data-stream
// addon accepts in stream_arns (its variable's validation): one region and
// one account, wildcards in the stream name only.
var moduleStreamARN = regexp.MustCompile(`^arn:aws[a-z-]*:kinesis:[a-z0-9-]+:[0-9]{12}:stream/[\w.*?-]+$`)

// checkAnyStreams accepts a kinesis-data-stream addon policy with whatever
// stream ARNs the module could have been given: each of one region and
// one account. A resource of any other shape (a wildcard region or
// account, "*") is a difference.
func checkAnyStreams(exp expectedPolicy, got *policy.Document) []Finding {
	var streams []string
	for _, s := range got.Statements {
		for _, r := range s.Resource {
			if moduleStreamARN.MatchString(r) {
				streams = append(streams, r)
			}
		}
	}
	exp.anyStreams = false
	exp.doc = KinesisDataStreamPolicy(streams)
	if len(streams) == 0 {
		return []Finding{{OK: false, Subject: exp.subject, Detail: "names no Kinesis stream: " + describeAll(got)}}
	}
	return comparePolicy(exp, got)
}

// siblingRuntimes are the other runtime connector roles a strategy
// connector's trust policy names that the module's runtime_role_arns may
// hold beside this runtime's: roles of the runtime connector's shape
// (/sym/SymRuntime<Environment>) in the runtime role's own account and
// partition, such as staging's beside prod's when one connector serves
// both. Any other principal stays a difference.
func siblingRuntimes(runtimeRoleARN string, trust *policy.Document) []string {
	rt, err := parseRoleARN(runtimeRoleARN)
	if err != nil || trust == nil {
		return nil
	}
	var out []string
	for _, s := range trust.Statements {
		for _, p := range s.Principal["AWS"] {
			r, err := parseRoleARN(p)
			if err != nil || r.ARN == rt.ARN || r.Partition != rt.Partition || r.Account != rt.Account ||
				r.Path != "/sym/" || !strings.HasPrefix(r.Name, "SymRuntime") || slices.Contains(out, r.ARN) {
				continue
			}
			out = append(out, r.ARN)
		}
	}
	return out
}

// moduleFunctionARN is the shape of a function ARN the lambda-connector
// accepts in lambda_arns (its variable's validation): one region and one
// account, wildcards in the name and qualifier only.
var moduleFunctionARN = regexp.MustCompile(`^arn:aws[a-z-]*:lambda:[a-z0-9-]+:[0-9]{12}:function:[\w*?-]+(:[\w$*-]+)?$`)

// checkAnyFunctions accepts a lambda-connector policy with whatever
// function ARNs the module could have been given: each of one region and
// one account. A resource of any other shape is a difference.
func checkAnyFunctions(exp expectedPolicy, got *policy.Document) []Finding {
	var fns []string
	for _, s := range got.Statements {
		for _, r := range s.Resource {
			if moduleFunctionARN.MatchString(r) {
				fns = append(fns, r)
			}
		}
	}
	if len(fns) == 0 {
		return []Finding{{OK: false, Subject: exp.subject, Detail: "names no Lambda function: " + describeAll(got)}}
	}
	exp.doc = LambdaConnectorPolicy(fns)
	return comparePolicy(exp, got)
}

func checkInline(facts roleFacts) []Finding {
	var out []Finding
	var names []string
	for n := range facts.inline {
		names = append(names, n)
	}
	slices.Sort(names)
	for _, n := range names {
		out = append(out, Finding{OK: false, Subject: "inline policy " + n, Detail: "the module writes no inline policy: " + describeAll(facts.inline[n])})
	}
	return out
}

func describeAll(d *policy.Document) string {
	var parts []string
	for _, s := range d.Statements {
		parts = append(parts, s.Describe())
	}
	if len(parts) == 0 {
		return "no statements"
	}
	return strings.Join(parts, "; ")
}

// strategy verifies a chained connector role (IAM, Lambda): trusted by the
// runtime role only, one managed policy of the role's name (want nil: a
// Lambda policy on whatever functions).
func (v verifier) strategy(ctx context.Context, kind, prefix string, r roleARN, want *policy.Document) (RoleReport, error) {
	// The policy carries the role's own name (SymIAMProd), whatever the
	// environment flag says.
	name := r.Name
	if !strings.HasPrefix(name, prefix) {
		name = prefix + TitleCase(v.env)
	}
	return v.chained(ctx, kind, prefix, r, map[string]expectedPolicy{
		r.policyARN(name): {subject: "policy " + name, doc: want},
	}, nil, nil)
}

// iamConnector verifies an iam-connector role: the module's policy for
// groups (nil: whatever groups the role's policy names), and, whatever its
// policies say, membership changes only on groups under the allowed group
// paths (awsauth.Guards.CheckMembershipGrants, the server's rule).
func (v verifier) iamConnector(ctx context.Context, r roleARN, groups []Group) (RoleReport, error) {
	name := r.Name
	if !strings.HasPrefix(name, "SymIAM") {
		name = "SymIAM" + TitleCase(v.env)
	}
	exp := expectedPolicy{subject: "policy " + name}
	if groups != nil {
		exp.doc = IAMConnectorPolicy(r.Partition, r.Account, groups)
	} else {
		exp.detect = func(got *policy.Document) *policy.Document {
			if found := groupsOf(got); len(found) > 0 {
				return IAMConnectorPolicy(r.Partition, r.Account, found)
			}
			return nil
		}
	}
	guards := awsauth.Guards{GroupPaths: v.e.GroupPaths}
	return v.chained(ctx, "IAM connector", "SymIAM", r, map[string]expectedPolicy{r.policyARN(name): exp}, nil,
		func(ctx context.Context, facts roleFacts) ([]Finding, error) {
			docs := map[string]*policy.Document{}
			for arn, pname := range facts.attached {
				d, ok := facts.managed[arn]
				if !ok {
					var err error
					if d, err = v.managedDocument(ctx, arn); err != nil {
						return nil, err
					}
				}
				docs["policy "+pname] = d
			}
			for pname, d := range facts.inline {
				docs["inline policy "+pname] = d
			}
			subject := "allowed group paths"
			if err := guards.CheckMembershipGrants(r.ARN, MembershipGrants(docs)); err != nil {
				return []Finding{{OK: false, Subject: subject, Detail: strings.TrimPrefix(err.Error(), "guard rail: ")}}, nil
			}
			return []Finding{{OK: true, Subject: subject, Detail: fmt.Sprintf("membership changes only on groups under %s (--allowed-group-paths)",
				strings.Join(guards.AllowedGroupPaths(), ", "))}}, nil
		})
}

// sso verifies an sso-connector role: its policies are named after the
// role (SymSSOProd, SymSSOGroupProd, SymListAccountsProd and, when
// enabled, SymSSOProd-Account).
func (v verifier) sso(ctx context.Context, r roleARN, c SSOConnector) (RoleReport, error) {
	const prefix = "SymSSO"
	envTitle := strings.TrimPrefix(r.Name, prefix)
	if !strings.HasPrefix(r.Name, prefix) {
		envTitle = TitleCase(v.env)
	}
	want := map[string]expectedPolicy{
		r.policyARN(prefix + envTitle):            {subject: "policy " + prefix + envTitle, doc: SSOConnectorPolicy()},
		r.policyARN("SymSSOGroup" + envTitle):     {subject: "policy SymSSOGroup" + envTitle, doc: SSOGroupPolicy()},
		r.policyARN("SymListAccounts" + envTitle): {subject: "policy SymListAccounts" + envTitle, doc: ListAccountsPolicy()},
	}
	account := expectedPolicy{subject: "policy " + prefix + envTitle + "-Account", doc: SSOAccountPolicy(r.Partition)}
	accountARN := r.policyARN(prefix + envTitle + "-Account")
	return v.chained(ctx, "SSO connector", prefix, r, want, func(f roleFacts) {
		if _, attached := f.attached[accountARN]; c.AccountAssignment || (c.DetectAccountAssignment && attached) {
			want[accountARN] = account
		}
	}, nil)
}

// chained verifies a strategy connector role: trusted by the runtime role
// only, exactly the managed policies in want. adjust, when set, may add
// expected policies once the role's facts are read; after, when set, adds
// findings of its own from them.
func (v verifier) chained(ctx context.Context, kind, prefix string, r roleARN, want map[string]expectedPolicy, adjust func(roleFacts),
	after func(context.Context, roleFacts) ([]Finding, error)) (RoleReport, error) {
	rep := RoleReport{Connector: kind, RoleARN: r.ARN}
	add := func(ok bool, subject, format string, args ...any) {
		rep.Findings = append(rep.Findings, Finding{OK: ok, Subject: subject, Detail: fmt.Sprintf(format, args...)})
	}
	add(r.Path == "/sym/" && strings.HasPrefix(r.Name, prefix), "name", "the role is %s%s (the module makes /sym/%s<Environment>)", r.Path, r.Name, prefix)
	facts, err := v.read(ctx, r)
	if err != nil {
		return rep, err
	}
	if !facts.exists {
		add(false, "role", "the role does not exist")
		return rep, nil
	}
	if facts.actualARN != r.ARN {
		add(false, "role", "a role of that name exists as %s, not %s", facts.actualARN, r.ARN)
	}
	runtimes := append([]string{v.e.RuntimeRoleARN}, siblingRuntimes(v.e.RuntimeRoleARN, facts.trust)...)
	diff := policy.Compare(ChainedTrustPolicy(runtimes), facts.trust)
	if diff.Empty() {
		add(true, "trust policy", "only the runtime connector role %s may assume it (role chaining, no External ID)", strings.Join(runtimes, ", "))
	}
	for _, s := range diff.Unexpected {
		add(false, "trust policy", "statement the module does not write: %s", s.Describe())
	}
	for _, s := range diff.Missing {
		add(false, "trust policy", "lacks the module's statement: %s", s.Describe())
	}
	if adjust != nil {
		adjust(facts)
	}
	findings, err := v.checkAttached(ctx, facts, want, nil)
	if err != nil {
		return rep, err
	}
	rep.Findings = append(rep.Findings, findings...)
	rep.Findings = append(rep.Findings, checkInline(facts)...)
	if after != nil {
		more, err := after(ctx, facts)
		if err != nil {
			return rep, err
		}
		rep.Findings = append(rep.Findings, more...)
	}
	return rep, nil
}
