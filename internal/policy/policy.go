// Package policy reads IAM policy documents, compares them statement by
// statement, and answers the question a security reviewer asks of them: does
// this document allow action X on resource Y?
//
// It parses the shapes IAM accepts and returns (a single statement or a list;
// Action, Resource and principal values as a string or a list; documents
// URL-encoded as GetRole and GetPolicyVersion return them). The evaluator is
// deliberately simple: identity and trust policies of one principal, explicit
// Deny wins, and conditions are evaluated only for the operators listed in
// conditionMatches. It must never answer "allowed" for a condition it cannot
// evaluate.
package policy

import (
	"encoding/json"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strings"

	"github.com/opensym/sym/internal/model"
)

// Document is a parsed IAM policy document.
type Document struct {
	Version    string
	Statements []Statement
}

// Statement is one statement, with every list-or-string field as a list.
type Statement struct {
	Sid          string
	Effect       string // "Allow" or "Deny"
	Principal    Principal
	NotPrincipal Principal
	Action       []string
	NotAction    []string
	Resource     []string
	NotResource  []string
	// Condition maps operator (StringEquals, ...) to key to values.
	Condition map[string]map[string][]string
}

// Principal maps a principal type (AWS, Service, Federated, CanonicalUser)
// to its values. The JSON string "*" parses as {"*": ["*"]}.
type Principal map[string][]string

// Parse reads a policy document, URL-decoding it first when it is encoded.
func Parse(doc string) (*Document, error) {
	text := strings.TrimSpace(doc)
	if !strings.HasPrefix(text, "{") {
		decoded, err := url.QueryUnescape(text)
		if err != nil {
			return nil, fmt.Errorf("policy document is neither JSON nor URL-encoded JSON: %w", err)
		}
		text = strings.TrimSpace(decoded)
	}
	var raw struct {
		Version   string          `json:"Version"`
		Statement json.RawMessage `json:"Statement"`
	}
	if err := json.Unmarshal([]byte(text), &raw); err != nil {
		return nil, fmt.Errorf("parse policy document: %w", err)
	}
	d := &Document{Version: raw.Version}
	if len(raw.Statement) == 0 || string(raw.Statement) == "null" {
		return d, nil
	}
	var rawStatements []json.RawMessage
	if strings.HasPrefix(strings.TrimSpace(string(raw.Statement)), "{") {
		rawStatements = []json.RawMessage{raw.Statement}
	} else if err := json.Unmarshal(raw.Statement, &rawStatements); err != nil {
		return nil, fmt.Errorf("parse policy statements: %w", err)
	}
	for i, rs := range rawStatements {
		s, err := parseStatement(rs)
		if err != nil {
			return nil, fmt.Errorf("statement %d: %w", i+1, err)
		}
		d.Statements = append(d.Statements, s)
	}
	return d, nil
}

// MustParse is Parse for documents written in code; it panics on error.
func MustParse(doc string) *Document {
	d, err := Parse(doc)
	if err != nil {
		panic(err)
	}
	return d
}

func parseStatement(data json.RawMessage) (Statement, error) {
	var raw struct {
		Sid          string                                `json:"Sid"`
		Effect       string                                `json:"Effect"`
		Principal    json.RawMessage                       `json:"Principal"`
		NotPrincipal json.RawMessage                       `json:"NotPrincipal"`
		Action       stringList                            `json:"Action"`
		NotAction    stringList                            `json:"NotAction"`
		Resource     stringList                            `json:"Resource"`
		NotResource  stringList                            `json:"NotResource"`
		Condition    map[string]map[string]json.RawMessage `json:"Condition"`
	}
	if err := json.Unmarshal(data, &raw); err != nil {
		return Statement{}, err
	}
	if raw.Effect != "Allow" && raw.Effect != "Deny" {
		return Statement{}, fmt.Errorf("effect %q is neither Allow nor Deny", raw.Effect)
	}
	s := Statement{
		Sid: raw.Sid, Effect: raw.Effect,
		Action: raw.Action, NotAction: raw.NotAction,
		Resource: raw.Resource, NotResource: raw.NotResource,
	}
	var err error
	if s.Principal, err = parsePrincipal(raw.Principal); err != nil {
		return Statement{}, fmt.Errorf("Principal: %w", err)
	}
	if s.NotPrincipal, err = parsePrincipal(raw.NotPrincipal); err != nil {
		return Statement{}, fmt.Errorf("NotPrincipal: %w", err)
	}
	if len(raw.Condition) > 0 {
		s.Condition = map[string]map[string][]string{}
		for op, keys := range raw.Condition {
			s.Condition[op] = map[string][]string{}
			for key, v := range keys {
				var values stringList
				if err := json.Unmarshal(v, &values); err != nil {
					return Statement{}, fmt.Errorf("Condition %s %s: %w", op, key, err)
				}
				s.Condition[op][key] = values
			}
		}
	}
	return s, nil
}

func parsePrincipal(data json.RawMessage) (Principal, error) {
	if len(data) == 0 || string(data) == "null" {
		return nil, nil
	}
	var star string
	if err := json.Unmarshal(data, &star); err == nil {
		if star != "*" {
			return nil, fmt.Errorf("a string principal must be \"*\", got %q", star)
		}
		return Principal{"*": {"*"}}, nil
	}
	var m map[string]stringList
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, err
	}
	p := Principal{}
	for k, v := range m {
		p[k] = v
	}
	return p, nil
}

// stringList reads a JSON string, a list of strings, or a boolean/number
// (condition values such as "aws:SecureTransport": true) as strings.
type stringList []string

func (l *stringList) UnmarshalJSON(b []byte) error {
	var one any
	if err := json.Unmarshal(b, &one); err != nil {
		return err
	}
	switch v := one.(type) {
	case nil:
		*l = nil
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, err := scalar(e)
			if err != nil {
				return err
			}
			out = append(out, s)
		}
		*l = out
	default:
		s, err := scalar(v)
		if err != nil {
			return err
		}
		*l = []string{s}
	}
	return nil
}

func scalar(v any) (string, error) {
	switch x := v.(type) {
	case string:
		return x, nil
	case bool, float64:
		return fmt.Sprint(x), nil
	}
	return "", fmt.Errorf("expected a string, got %T", v)
}

// JSON renders the document in IAM's JSON form with lists everywhere.
func (d *Document) JSON() string {
	type stmt struct {
		Sid          string                         `json:"Sid,omitempty"`
		Effect       string                         `json:"Effect"`
		Principal    Principal                      `json:"Principal,omitempty"`
		NotPrincipal Principal                      `json:"NotPrincipal,omitempty"`
		Action       []string                       `json:"Action,omitempty"`
		NotAction    []string                       `json:"NotAction,omitempty"`
		Resource     []string                       `json:"Resource,omitempty"`
		NotResource  []string                       `json:"NotResource,omitempty"`
		Condition    map[string]map[string][]string `json:"Condition,omitempty"`
	}
	out := struct {
		Version   string `json:"Version"`
		Statement []stmt `json:"Statement"`
	}{Version: d.Version}
	for _, s := range d.Statements {
		out.Statement = append(out.Statement, stmt(s))
	}
	b, _ := json.Marshal(out)
	return string(b)
}

// normalized returns a copy with actions lower-cased and every list sorted
// and de-duplicated, so that equal meaning gives equal values.
func (s Statement) normalized() Statement {
	n := Statement{Effect: s.Effect}
	n.Action = sortedSet(s.Action, strings.ToLower)
	n.NotAction = sortedSet(s.NotAction, strings.ToLower)
	n.Resource = sortedSet(s.Resource, nil)
	n.NotResource = sortedSet(s.NotResource, nil)
	n.Principal = normalizePrincipal(s.Principal)
	n.NotPrincipal = normalizePrincipal(s.NotPrincipal)
	if len(s.Condition) > 0 {
		n.Condition = map[string]map[string][]string{}
		for op, keys := range s.Condition {
			n.Condition[op] = map[string][]string{}
			for k, v := range keys {
				// Condition keys are case-insensitive; values are not.
				n.Condition[op][strings.ToLower(k)] = sortedSet(v, nil)
			}
		}
	}
	return n
}

func normalizePrincipal(p Principal) Principal {
	if len(p) == 0 {
		return nil
	}
	out := Principal{}
	for k, v := range p {
		if k == "AWS" {
			out[k] = sortedSet(v, CanonicalPrincipal)
		} else {
			out[k] = sortedSet(v, nil)
		}
	}
	return out
}

// CanonicalPrincipal writes a bare 12-digit account id the way IAM stores
// it, as the account's root ARN; other values are returned unchanged.
func CanonicalPrincipal(p string) string {
	if model.IsAccountID(p) {
		return "arn:aws:iam::" + p + ":root"
	}
	return p
}

func sortedSet(in []string, f func(string) string) []string {
	if len(in) == 0 {
		return nil
	}
	out := make([]string, 0, len(in))
	for _, v := range in {
		if f != nil {
			v = f(v)
		}
		out = append(out, v)
	}
	sort.Strings(out)
	return slices.Compact(out)
}

// Key identifies a statement's meaning, ignoring Sid, order and case where
// IAM ignores them. Two statements with equal keys grant the same thing.
func (s Statement) Key() string {
	b, _ := json.Marshal(s.normalized())
	return string(b)
}

// Difference between two documents: statements only one of them has.
type Difference struct {
	Missing    []Statement // expected, not present
	Unexpected []Statement // present, not expected
}

// Empty reports whether the documents grant the same.
func (d Difference) Empty() bool { return len(d.Missing) == 0 && len(d.Unexpected) == 0 }

// Compare lists the statements of want missing from got and those of got
// that want does not have. Statement order and Sid do not matter.
func Compare(want, got *Document) Difference {
	var diff Difference
	wantKeys := map[string]int{}
	for _, s := range want.Statements {
		wantKeys[s.Key()]++
	}
	gotKeys := map[string]int{}
	for _, s := range got.Statements {
		gotKeys[s.Key()]++
	}
	for _, s := range want.Statements {
		if gotKeys[s.Key()] == 0 {
			diff.Missing = append(diff.Missing, s)
		}
	}
	for _, s := range got.Statements {
		if wantKeys[s.Key()] == 0 {
			diff.Unexpected = append(diff.Unexpected, s)
		}
	}
	return diff
}
