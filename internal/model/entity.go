package model

import (
	"encoding/base64"
	"fmt"
	"regexp"
	"sort"
	"strings"
)

// Entity is a platform object declared through the entities API (and so
// through Terraform): an environment, an integration, a target, ... Its
// fields are kept as decoded JSON, checked against its Kind.
type Entity struct {
	ID     string         `json:"id"`
	Kind   string         `json:"-"`
	Fields map[string]any `json:"-"`
}

// FieldType is the JSON shape of an entity field.
type FieldType int

// Field shapes.
const (
	String FieldType = iota
	StringMap
	StringList
	Object
)

// Field describes one field of a kind.
type Field struct {
	Name     string
	Type     FieldType
	Required bool
	// Ref names the kind this field points to (for a list, each element).
	Ref string
}

// Kind describes one entity kind: its path segment and fields.
type Kind struct {
	Name   string // path segment: environments, integrations, ...
	Typed  bool   // has a "type" field that is part of its identity
	Slug   string // the field that names it: slug, or path for secrets
	Fields []Field
	// Types lists the known values of "type" when the kind is typed.
	Types []string
	// Singleton kinds have at most one entity per organisation and are
	// addressed without an id (/entities/flows-filter).
	Singleton bool
}

// FlowsFilterKind is the singleton that filters which flows a user sees:
// the base64 code of a get_flows reducer with its vars and integrations.
const FlowsFilterKind = "flows-filter"

// Kinds are the entity kinds of REFERENCE.md section 4.
var Kinds = map[string]*Kind{}

func init() {
	for _, k := range []*Kind{
		{Name: "environments", Slug: "slug", Fields: []Field{
			{Name: "slug", Required: true}, {Name: "label"},
			{Name: "runtime_id", Ref: "runtimes"},
			{Name: "integrations", Type: StringMap},
			{Name: "error_logger_id", Ref: "error-loggers"},
			{Name: "log_destination_ids", Type: StringList, Ref: "log-destinations"},
		}},
		{Name: "integrations", Typed: true, Slug: "slug", Fields: []Field{
			{Name: "type", Required: true}, {Name: "slug", Required: true}, {Name: "label"},
			{Name: "external_id"}, {Name: "settings", Type: StringMap},
		}},
		{Name: "runtimes", Slug: "slug", Fields: []Field{
			{Name: "slug", Required: true}, {Name: "label"},
			{Name: "context_id", Required: true, Ref: "integrations"},
		}},
		{Name: "access-targets", Typed: true, Slug: "slug",
			Types: []string{"aws_iam_group", "aws_sso_permission_set", "aws_sso_group", "aws_lambda_function", "custom"},
			Fields: []Field{
				{Name: "type", Required: true}, {Name: "slug", Required: true}, {Name: "label"},
				{Name: "settings", Type: StringMap}, {Name: "field_bindings", Type: StringList},
			}},
		{Name: "access-strategies", Typed: true, Slug: "slug",
			Types: []string{"aws_iam", "aws_sso", "aws_lambda", "custom", "http"},
			Fields: []Field{
				{Name: "type", Required: true}, {Name: "slug", Required: true}, {Name: "label"},
				{Name: "integration_id", Ref: "integrations"},
				{Name: "targets", Type: StringList, Ref: "access-targets"},
				{Name: "settings", Type: StringMap},
			}},
		{Name: "flows", Slug: "slug", Fields: []Field{
			{Name: "slug", Required: true}, {Name: "label"},
			{Name: "environment_id", Required: true, Ref: "environments"},
			{Name: "implementation"}, {Name: "vars", Type: StringMap}, {Name: "params", Type: Object},
		}},
		{Name: "secret-sources", Typed: true, Slug: "slug", Types: []string{"aws_secrets_manager"}, Fields: []Field{
			{Name: "type", Required: true}, {Name: "slug", Required: true}, {Name: "label"},
			{Name: "settings", Type: StringMap},
		}},
		{Name: "secrets", Slug: "path", Fields: []Field{
			{Name: "path", Required: true}, {Name: "source_id", Required: true, Ref: "secret-sources"},
			{Name: "label"}, {Name: "settings", Type: StringMap},
		}},
		{Name: "log-destinations", Typed: true, Types: LogDestinationTypes, Fields: []Field{
			{Name: "type", Required: true}, {Name: "integration_id", Ref: "integrations"},
			{Name: "settings", Type: StringMap},
		}},
		{Name: "error-loggers", Fields: []Field{
			{Name: "integration_id", Ref: "integrations"}, {Name: "destination", Required: true},
		}},
		{Name: FlowsFilterKind, Singleton: true, Fields: []Field{
			{Name: "implementation", Required: true}, {Name: "vars", Type: StringMap},
			{Name: "integrations", Type: StringMap},
		}},
	} {
		Kinds[k.Name] = k
	}
}

// Singular names a kind in messages: "access-strategies" -> "strategy".
func Singular(kind string) string {
	switch kind {
	case "access-targets":
		return "target"
	case "access-strategies":
		return "strategy"
	case "secret-sources":
		return "secrets source"
	}
	return strings.ReplaceAll(strings.TrimSuffix(kind, "s"), "-", " ")
}

// NullRef is how the original client says "no integration".
const NullRef = "<null>"

// FieldError is a problem with one field of an input.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

func (e FieldError) Error() string {
	if e.Field == "" {
		return e.Message
	}
	return e.Field + ": " + e.Message
}

// Field returns the field definition by name.
func (k *Kind) Field(name string) (Field, bool) {
	for _, f := range k.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return Field{}, false
}

// Normalize checks the shape of raw (decoded JSON) against the kind and
// returns it with every field present: "" for strings, {} for maps, [] for
// lists. With partial set (a PATCH), absent fields are left absent and
// required fields are not demanded.
func (k *Kind) Normalize(raw map[string]any, partial bool) (map[string]any, []FieldError) {
	var errs []FieldError
	out := map[string]any{}
	names := make([]string, 0, len(raw))
	for n := range raw {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if n == "id" {
			continue
		}
		if _, ok := k.Field(n); !ok {
			errs = append(errs, FieldError{n, "unknown field for " + k.Name})
		}
	}
	for _, f := range k.Fields {
		v, present := raw[f.Name]
		if !present && partial {
			continue
		}
		switch f.Type {
		case String:
			s := ""
			if present && v != nil {
				str, ok := v.(string)
				if !ok {
					errs = append(errs, FieldError{f.Name, "must be a string"})
					continue
				}
				s = str
			}
			if f.Ref != "" && s == NullRef {
				s = ""
			}
			if f.Required && strings.TrimSpace(s) == "" {
				errs = append(errs, FieldError{f.Name, "is required"})
				continue
			}
			out[f.Name] = s
		case StringMap:
			m := map[string]string{}
			if present && v != nil {
				obj, ok := v.(map[string]any)
				if !ok {
					errs = append(errs, FieldError{f.Name, "must be an object of strings"})
					continue
				}
				for key, val := range obj {
					s, ok := val.(string)
					if !ok {
						errs = append(errs, FieldError{f.Name + "." + key, "must be a string"})
						continue
					}
					m[key] = s
				}
			}
			out[f.Name] = m
		case StringList:
			l := []string{}
			if present && v != nil {
				arr, ok := v.([]any)
				if !ok {
					errs = append(errs, FieldError{f.Name, "must be a list of strings"})
					continue
				}
				for i, e := range arr {
					s, ok := e.(string)
					if !ok || s == "" {
						errs = append(errs, FieldError{fmt.Sprintf("%s[%d]", f.Name, i), "must be a non-empty string"})
						continue
					}
					l = append(l, s)
				}
			}
			out[f.Name] = l
		case Object:
			o := map[string]any{}
			if present && v != nil {
				obj, ok := v.(map[string]any)
				if !ok {
					errs = append(errs, FieldError{f.Name, "must be an object"})
					continue
				}
				o = obj
			}
			out[f.Name] = o
		}
	}
	return out, errs
}

// roleARN is the strict grammar of an IAM role ARN: a known partition, a
// 12-digit account, a path of IAM path segments, a role name.
var roleARN = regexp.MustCompile(`^arn:(aws|aws-us-gov|aws-cn):iam::(\d{12}):role(/(?:[\w+=,.@-]+/)*)([\w+=,.@-]{1,64})$`)

// Partitions are the AWS partitions sym accepts in ARNs.
var Partitions = []string{"aws", "aws-us-gov", "aws-cn"}

// CheckIAMPath enforces IAM's path grammar and more: it starts and ends
// with "/", has no empty segment ("//"), no "." or ".." segment, and no
// wildcard; at most 512 characters.
func CheckIAMPath(p string) error {
	if len(p) > 512 || !strings.HasPrefix(p, "/") || !strings.HasSuffix(p, "/") {
		return fmt.Errorf("IAM path %q must start and end with / (at most 512 characters)", p)
	}
	if p == "/" {
		return nil
	}
	for _, seg := range strings.Split(p[1:len(p)-1], "/") {
		switch {
		case seg == "":
			return fmt.Errorf("IAM path %q has an empty segment (//)", p)
		case seg == "." || seg == "..":
			return fmt.Errorf("IAM path %q has a %q segment", p, seg)
		case strings.ContainsAny(seg, "*?"):
			return fmt.Errorf("IAM path %q has a wildcard", p)
		case !iamPathSegment.MatchString(seg):
			return fmt.Errorf("IAM path %q has characters IAM paths do not allow", p)
		}
	}
	return nil
}

var iamPathSegment = regexp.MustCompile(`^[\w+=,.@-]+$`)

// IsAccountID reports whether s is a 12-digit AWS account id.
func IsAccountID(s string) bool {
	if len(s) != 12 {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// RolePartition is the partition of a role ARN that ParseRoleARN accepts.
func RolePartition(arn string) string {
	if m := roleARN.FindStringSubmatch(arn); m != nil {
		return m[1]
	}
	return ""
}

// ParseRoleARN splits an IAM role ARN into its account and path ("/" when
// the role has none); it fails on anything that is not a role ARN.
func ParseRoleARN(arn string) (account, path, name string, err error) {
	m := roleARN.FindStringSubmatch(arn)
	if m == nil {
		return "", "", "", fmt.Errorf("%q is not an IAM role ARN (arn:<aws|aws-us-gov|aws-cn>:iam::<12-digit account>:role/<path>/<name>)", arn)
	}
	path = m[3]
	if path == "" {
		path = "/"
	}
	if err := CheckIAMPath(path); err != nil {
		return "", "", "", fmt.Errorf("%q is not a usable IAM role ARN: %w", arn, err)
	}
	return m[2], path, m[4], nil
}

// ValidateTyped checks the rules that depend on an entity's type (what a
// permission context, a target, a strategy, a flow must carry).
func (k *Kind) ValidateTyped(f map[string]any) []FieldError {
	var errs []FieldError
	str := func(name string) string { s, _ := f[name].(string); return s }
	typ := str("type")
	if len(k.Types) > 0 && typ != "" {
		known := false
		for _, t := range k.Types {
			known = known || t == typ
		}
		if !known {
			errs = append(errs, FieldError{"type", fmt.Sprintf("unknown type %q (one of %s)", typ, strings.Join(k.Types, ", "))})
		}
	}
	var more []FieldError
	switch k.Name {
	case "integrations":
		_, more = DecodeIntegration("", f)
	case "secret-sources":
		_, more = DecodeSecretSource("", f)
	case "log-destinations":
		_, more = DecodeLogDestination("", f)
	case "access-targets":
		_, more = DecodeTarget("", f)
	case FlowsFilterKind:
		if _, err := base64.StdEncoding.DecodeString(str("implementation")); err != nil {
			errs = append(errs, FieldError{"implementation", "must be the base64-encoded code of a get_flows reducer"})
		}
	case "access-strategies":
		more = StrategySettingsErrors(typ, DecodeStrategy("", f).Settings)
	case "flows":
		if impl := str("implementation"); impl != "" {
			if _, err := base64.StdEncoding.DecodeString(impl); err != nil {
				errs = append(errs, FieldError{"implementation", "must be base64-encoded flow code"})
			}
		}
		_, more = DecodeFlow("", f)
	}
	errs = append(errs, more...)
	return errs
}

// ParamBool reads a boolean flow parameter with its default.
func ParamBool(params map[string]any, key string, def bool) bool {
	if v, ok := params[key].(bool); ok {
		return v
	}
	return def
}

// StrategyTargetTypes are the target types each strategy type grants.
var StrategyTargetTypes = map[string][]string{
	"aws_iam":    {"aws_iam_group"},
	"aws_sso":    {"aws_sso_permission_set", "aws_sso_group"},
	"aws_lambda": {"aws_lambda_function"},
}

var (
	permissionSetARN = regexp.MustCompile(`^arn:aws[a-z-]*:sso:::(permissionSet|instance)/(sso)?ins-[a-zA-Z0-9-.]{16}/ps-[a-zA-Z0-9-./]{16}$`)
	ssoInstanceARN   = regexp.MustCompile(`^arn:aws[a-z-]*:sso:::instance/(sso)?ins-[a-zA-Z0-9-.]{16}$`)
	// An identity-store id: a UUID, optionally prefixed by a 10-character
	// store id and a hyphen (Identity Center's own format).
	identityStoreID = regexp.MustCompile(`^([0-9a-f]{10}-|)[A-Fa-f0-9]{8}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{4}-[A-Fa-f0-9]{12}$`)
	lambdaARN       = regexp.MustCompile(`^arn:aws[a-z-]*:lambda:[a-z0-9-]+:\d{12}:function:[a-zA-Z0-9-_]{1,64}(:(\$LATEST|[a-zA-Z0-9-_]+))?$`)
	accountID       = regexp.MustCompile(`^\d{12}$`)
)

// TargetSettingsErrors checks the settings a target of type typ carries:
// present, and in the form AWS gives them. The API and the Terraform
// provider (at plan time) both apply it.
func TargetSettingsErrors(typ string, settings map[string]string) []FieldError {
	var errs []FieldError
	need := func(key, what string, re *regexp.Regexp, example string) {
		v := strings.TrimSpace(settings[key])
		switch {
		case v == "":
			errs = append(errs, FieldError{"settings." + key, fmt.Sprintf("A target of type %s needs settings.%s (%s).", typ, key, what)})
		case re != nil && !re.MatchString(v):
			errs = append(errs, FieldError{"settings." + key, fmt.Sprintf("settings.%s %q is not %s, such as %s.", key, v, what, example)})
		}
	}
	switch typ {
	case "aws_iam_group":
		need("iam_group", "the IAM group name", nil, "")
	case "aws_sso_permission_set":
		need("permission_set_arn", "a permission set ARN", permissionSetARN, "arn:aws:sso:::permissionSet/ssoins-1234567890abcdef/ps-1234567890abcdef")
		need("account_id", "a 12-digit AWS account id", accountID, "123456789012")
	case "aws_sso_group":
		need("group_id", "an identity-store group id", identityStoreID, "90677c2b-c0e1-70a1-3a7e-5d9c8e4f0a11")
	case "aws_lambda_function":
		need("arn", "a Lambda function ARN", lambdaARN, "arn:aws:lambda:us-east-1:123456789012:function:sym-grant")
	}
	return errs
}

// StrategySettingsErrors checks the settings a strategy of type typ carries.
func StrategySettingsErrors(typ string, settings map[string]string) []FieldError {
	if typ != "aws_sso" {
		return nil
	}
	v := strings.TrimSpace(settings["instance_arn"])
	switch {
	case v == "":
		return []FieldError{{"settings.instance_arn", "An aws_sso strategy needs settings.instance_arn, the IAM Identity Center instance (the sso-connector module's settings.instance_arn)."}}
	case !ssoInstanceARN.MatchString(v):
		return []FieldError{{"settings.instance_arn", fmt.Sprintf("settings.instance_arn %q is not an IAM Identity Center instance ARN, such as arn:aws:sso:::instance/ssoins-1234567890abcdef.", v)}}
	}
	return nil
}
