package model

import (
	"errors"
	"slices"
	"testing"
	"time"
)

var allEvents = []Event{Approve, Deny, Expire, Withdraw, Escalated, EscalateFailed, Revoke, Deescalated, DeescalateFailed}

// TestTransitions walks every (state, event) pair: the legal ones lead where
// the flow says, every other one is refused and leaves the state alone.
func TestTransitions(t *testing.T) {
	legal := map[edge]struct {
		to      State
		effects []Effect
	}{
		{Pending, Approve}:           {Approved, []Effect{EffectGrant}},
		{Pending, Deny}:              {Denied, nil},
		{Pending, Expire}:            {Expired, nil},
		{Pending, Withdraw}:          {Withdrawn, nil},
		{Approved, Escalated}:        {Active, nil},
		{Approved, EscalateFailed}:   {Errored, nil},
		{Approved, DeescalateFailed}: {Removing, []Effect{EffectRevoke}},
		{Approved, Deescalated}:      {Ended, nil},
		{Active, Revoke}:             {Active, []Effect{EffectRevoke}},
		{Active, Deescalated}:        {Ended, nil},
		{Active, DeescalateFailed}:   {Removing, []Effect{EffectRevoke}},
		{Removing, DeescalateFailed}: {Removing, []Effect{EffectRevoke}},
		{Removing, Deescalated}:      {Ended, nil},
		{Removing, EscalateFailed}:   {Errored, nil},
	}
	if len(legal) != len(machine) {
		t.Errorf("the test knows %d transitions, the machine has %d", len(legal), len(machine))
	}
	for _, s := range States {
		for _, ev := range allEvents {
			to, effects, err := Transition(s, ev)
			want, ok := legal[edge{s, ev}]
			if ok {
				if err != nil || to != want.to || !slices.Equal(effects, want.effects) {
					t.Errorf("%s --%s--> %s %v %v; want %s %v", s, ev, to, effects, err, want.to, want.effects)
				}
				continue
			}
			var te *TransitionError
			if !errors.As(err, &te) || to != s || effects != nil {
				t.Errorf("%s --%s--> %s %v: want a refusal that keeps the state", s, ev, to, err)
			}
			if err != nil && err.Error() == "" {
				t.Errorf("%s --%s--> empty error message", s, ev)
			}
		}
	}
}

func TestResolvedStatesAreFinal(t *testing.T) {
	for _, s := range []State{Ended, Denied, Expired, Errored, Withdrawn} {
		if !s.IsResolved() {
			t.Errorf("%s should be resolved", s)
		}
		for _, ev := range allEvents {
			if _, _, err := Transition(s, ev); err == nil {
				t.Errorf("%s accepted %s", s, ev)
			}
		}
	}
	for _, s := range []State{Pending, Approved, Active, Removing} {
		if s.IsResolved() {
			t.Errorf("%s should not be resolved", s)
		}
	}
	// Every state that may hold access is unresolved: a request whose
	// access may remain is never final.
	for _, s := range States {
		if s.HoldsAccess() && s.IsResolved() {
			t.Errorf("%s holds access and is resolved", s)
		}
	}
	if !Removing.HoldsAccess() || Pending.HoldsAccess() || Errored.HoldsAccess() {
		t.Error("HoldsAccess: removing holds access; pending and errored do not")
	}
}

func TestRefusalMessages(t *testing.T) {
	cases := map[edge]string{
		{Ended, Revoke}:      "request has already ended",
		{Pending, Revoke}:    "request is pending, so there is no access to revoke: withdraw it instead (sym withdraw ID), or an approver denies it",
		{Active, Withdraw}:   "request is already active: revoke it instead (sym revoke ID)",
		{Ended, Withdraw}:    "request is ended; it cannot be withdrawn",
		{Active, Approve}:    "request is already active; it cannot be approved",
		{Denied, Approve}:    "request is denied; it cannot be approved",
		{Expired, Deny}:      "request is expired; it cannot be denied",
		{Removing, Revoke}:   "access is already being removed; sym retries until AWS confirms it",
		{Removing, Withdraw}: "access is already being removed; sym retries until AWS confirms it",
		{Removing, Approve}:  "request is already removing; it cannot be approved",
	}
	for e, want := range cases {
		_, _, err := Transition(e.from, e.ev)
		if err == nil || err.Error() != want {
			t.Errorf("%s/%s: %v, want %q", e.from, e.ev, err, want)
		}
	}
}

func TestParseRoleARN(t *testing.T) {
	cases := []struct {
		arn, account, path, name string
		ok                       bool
	}{
		{"arn:aws:iam::123456789012:role/sym/SymIamProd", "123456789012", "/sym/", "SymIamProd", true},
		{"arn:aws:iam::123456789012:role/SymIamProd", "123456789012", "/", "SymIamProd", true},
		{"arn:aws:iam::123456789012:role/sym/team/R", "123456789012", "/sym/team/", "R", true},
		{"arn:aws:iam::12345:role/sym/R", "", "", "", false},
		{"arn:aws:iam::123456789012:user/sym/R", "", "", "", false},
		{"SymIamProd", "", "", "", false},
	}
	for _, c := range cases {
		a, p, n, err := ParseRoleARN(c.arn)
		if (err == nil) != c.ok || a != c.account || p != c.path || n != c.name {
			t.Errorf("ParseRoleARN(%q) = %q %q %q %v", c.arn, a, p, n, err)
		}
	}
}

func TestFormatDuration(t *testing.T) {
	for in, want := range map[string]string{"1h": "1h", "30m": "30m", "1h30m": "1h30m", "45s": "45s", "1m30s": "1m30s",
		"10s": "10s", "1h0m10s": "1h0m10s", "12h": "12h", "500ms": "500ms", "20m": "20m", "2h10m": "2h10m"} {
		d, err := time.ParseDuration(in)
		if err != nil {
			t.Fatal(err)
		}
		if got := FormatDuration(d); got != want {
			t.Errorf("FormatDuration(%s) = %q, want %q", in, got, want)
		}
	}
}
