package policy

import (
	"fmt"
	"slices"
	"strings"
)

// Request is the question put to a document: may the caller perform Action
// on Resource, given the request's condition context?
type Request struct {
	Action   string
	Resource string
	// Principal, for trust policies: the ARN of the caller.
	Principal string
	// Context maps condition keys (case-insensitive) to their values, e.g.
	// "sts:ExternalId" or "aws:ResourceTag/SymEnv".
	Context map[string][]string
}

// Decision is the outcome of an evaluation.
type Decision int

// The three outcomes IAM distinguishes.
const (
	ImplicitDeny Decision = iota
	Allowed
	ExplicitDeny
)

func (d Decision) String() string {
	switch d {
	case Allowed:
		return "allowed"
	case ExplicitDeny:
		return "explicitly denied"
	}
	return "not allowed"
}

// Evaluate answers the request: an explicit Deny wins over any Allow, and
// without a matching Allow the answer is ImplicitDeny.
func (d *Document) Evaluate(r Request) Decision {
	decision := ImplicitDeny
	for _, s := range d.Statements {
		if !s.Matches(r) {
			continue
		}
		if s.Effect == "Deny" {
			return ExplicitDeny
		}
		decision = Allowed
	}
	return decision
}

// Allows is Evaluate(r) == Allowed.
func (d *Document) Allows(r Request) bool { return d.Evaluate(r) == Allowed }

// Matches reports whether the statement applies to the request, whatever
// its effect. A principal is only checked when the request names one.
func (s Statement) Matches(r Request) bool {
	if len(s.Action) > 0 && !anyMatch(s.Action, r.Action, true) {
		return false
	}
	if len(s.NotAction) > 0 && anyMatch(s.NotAction, r.Action, true) {
		return false
	}
	if len(s.Action) == 0 && len(s.NotAction) == 0 {
		return false
	}
	if len(s.Resource) > 0 && !anyMatch(s.Resource, r.Resource, false) {
		return false
	}
	if len(s.NotResource) > 0 && anyMatch(s.NotResource, r.Resource, false) {
		return false
	}
	if r.Principal != "" {
		if len(s.Principal) > 0 && !s.Principal.matches(r.Principal) {
			return false
		}
		if len(s.NotPrincipal) > 0 && s.NotPrincipal.matches(r.Principal) {
			return false
		}
	}
	for op, keys := range s.Condition {
		for key, values := range keys {
			got, present := lookup(r.Context, key)
			if !conditionMatches(op, got, present, values) {
				return false
			}
		}
	}
	return true
}

func (p Principal) matches(arn string) bool {
	if _, ok := p["*"]; ok {
		return true
	}
	for _, v := range p["AWS"] {
		v = CanonicalPrincipal(v)
		if v == "*" || v == arn {
			return true
		}
		// An account root trusts every principal of that account.
		if strings.HasSuffix(v, ":root") && AccountOf(v) != "" && AccountOf(v) == AccountOf(arn) {
			return true
		}
	}
	return false
}

// AccountOf returns the account id field of an ARN, or "" when there is none.
func AccountOf(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) < 6 {
		return ""
	}
	return parts[4]
}

func lookup(ctx map[string][]string, key string) ([]string, bool) {
	for k, v := range ctx {
		if strings.EqualFold(k, key) {
			return v, true
		}
	}
	return nil, false
}

// conditionMatches evaluates one operator for one key. Unknown operators do
// not match, so an Allow behind them is never granted by this evaluator.
func conditionMatches(op string, got []string, present bool, want []string) bool {
	ifExists := strings.HasSuffix(op, "IfExists")
	op = strings.TrimSuffix(op, "IfExists")
	if !present {
		if op == "Null" {
			return slices.Contains(want, "true")
		}
		return ifExists || strings.HasPrefix(op, "StringNot") || strings.HasPrefix(op, "ArnNot")
	}
	anyOf := func(match func(g, w string) bool) bool {
		for _, g := range got {
			for _, w := range want {
				if match(g, w) {
					return true
				}
			}
		}
		return false
	}
	switch op {
	case "StringEquals", "ArnEquals":
		return anyOf(func(g, w string) bool { return g == w })
	case "StringEqualsIgnoreCase":
		return anyOf(strings.EqualFold)
	case "StringLike", "ArnLike":
		return anyOf(func(g, w string) bool { return Wildcard(w, g, false) })
	case "StringNotEquals", "ArnNotEquals":
		return !anyOf(func(g, w string) bool { return g == w })
	case "StringNotLike", "ArnNotLike":
		return !anyOf(func(g, w string) bool { return Wildcard(w, g, false) })
	case "Bool":
		return anyOf(strings.EqualFold)
	case "Null":
		return slices.Contains(want, "false")
	}
	return false
}

func anyMatch(patterns []string, value string, foldCase bool) bool {
	for _, p := range patterns {
		if Wildcard(p, value, foldCase) {
			return true
		}
	}
	return false
}

// Wildcard matches value against an IAM pattern where * is any run of
// characters (slashes and colons included) and ? is any one character.
func Wildcard(pattern, value string, foldCase bool) bool {
	if foldCase {
		pattern, value = strings.ToLower(pattern), strings.ToLower(value)
	}
	// Not path.Match: it stops '*' at '/' and gives '[' a meaning IAM
	// does not.
	return wildcard(pattern, value)
}

func wildcard(p, v string) bool {
	for len(p) > 0 {
		switch p[0] {
		case '*':
			for len(p) > 0 && p[0] == '*' {
				p = p[1:]
			}
			if p == "" {
				return true
			}
			for i := 0; i <= len(v); i++ {
				if wildcard(p, v[i:]) {
					return true
				}
			}
			return false
		case '?':
			if v == "" {
				return false
			}
			p, v = p[1:], v[1:]
		default:
			if v == "" || p[0] != v[0] {
				return false
			}
			p, v = p[1:], v[1:]
		}
	}
	return v == ""
}

// Describe says in words what a statement grants, e.g. "allows
// sts:AssumeRole on arn:aws:iam::123456789012:role/sym/* when
// aws:ResourceTag/SymEnv equals prod".
func (s Statement) Describe() string {
	var b strings.Builder
	b.WriteString(strings.ToLower(s.Effect) + "s ")
	switch {
	case len(s.Action) > 0:
		b.WriteString(strings.Join(s.Action, ", "))
	case len(s.NotAction) > 0:
		b.WriteString("every action except " + strings.Join(s.NotAction, ", "))
	}
	switch {
	case len(s.Resource) > 0:
		b.WriteString(" on " + strings.Join(s.Resource, ", "))
	case len(s.NotResource) > 0:
		b.WriteString(" on every resource except " + strings.Join(s.NotResource, ", "))
	}
	if len(s.Principal) > 0 {
		b.WriteString(" to " + s.Principal.String())
	}
	if len(s.NotPrincipal) > 0 {
		b.WriteString(" to everyone but " + s.NotPrincipal.String())
	}
	if c := DescribeCondition(s.Condition); c != "" {
		b.WriteString(" when " + c)
	} else {
		b.WriteString(" without conditions")
	}
	return b.String()
}

// String lists the principals, "anyone" for "*".
func (p Principal) String() string {
	if _, ok := p["*"]; ok {
		return "anyone (*)"
	}
	var parts []string
	for _, k := range sortedKeys(p) {
		for _, v := range sortedSet(p[k], nil) {
			if k == "AWS" {
				parts = append(parts, v)
			} else {
				parts = append(parts, k+" "+v)
			}
		}
	}
	return strings.Join(parts, ", ")
}

// DescribeCondition renders a condition block in words.
func DescribeCondition(c map[string]map[string][]string) string {
	var parts []string
	for _, op := range sortedKeys(c) {
		for _, key := range sortedKeys(c[op]) {
			values := c[op][key]
			var verb string
			switch strings.TrimSuffix(op, "IfExists") {
			case "StringEquals", "ArnEquals":
				verb = "equals"
			case "StringLike", "ArnLike":
				verb = "matches"
			case "StringNotEquals", "ArnNotEquals":
				verb = "does not equal"
			default:
				verb = op
			}
			parts = append(parts, fmt.Sprintf("%s %s %s", key, verb, strings.Join(values, " or ")))
		}
	}
	return strings.Join(parts, " and ")
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
