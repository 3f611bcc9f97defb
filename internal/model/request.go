// Package model holds the platform's entities and the access request's state
// machine: pure types and transitions. It performs no I/O and imports nothing
// of ours.
package model

import (
	"fmt"
	"time"
)

// State is where an access request stands.
type State string

// The states of an access request; docs/requests.md draws the machine.
const (
	Pending  State = "pending"  // asked, waiting for an approver
	Approved State = "approved" // approved, the grant is being made
	Active   State = "active"   // granted; de-escalation is scheduled
	// Removing: access may remain (a removal failed, or a grant failed after
	// part of it may have landed) and its removal is retried until AWS
	// confirms it; error or deescalate_error says what went wrong.
	Removing State = "removing"
	Ended    State = "ended"   // access taken away again
	Denied   State = "denied"  // an approver said no
	Expired  State = "expired" // nobody answered in time
	Errored  State = "errored" // the grant failed, and nothing of it remains
	// Withdrawn: the requester (or an admin) took the request back before
	// anyone answered it, or an entity it needed was deleted.
	Withdrawn State = "withdrawn"
)

// States lists every state, in the order a request meets them.
var States = []State{Pending, Approved, Active, Removing, Ended, Denied, Expired, Errored, Withdrawn}

// StateNames is States as text, for messages that list them.
func StateNames() []string {
	out := make([]string, len(States))
	for i, s := range States {
		out[i] = string(s)
	}
	return out
}

// Valid reports whether s is a known state.
func (s State) Valid() bool {
	for _, k := range States {
		if s == k {
			return true
		}
	}
	return false
}

// IsResolved reports whether no further transition can leave s.
func (s State) IsResolved() bool {
	return s == Ended || s == Denied || s == Expired || s == Errored || s == Withdrawn
}

// HoldsAccess reports whether the requester may be in the target in s, so
// that a de-escalation is owed.
func (s State) HoldsAccess() bool { return s == Approved || s == Active || s == Removing }

// Event is something that moves a request.
type Event string

// The events of the flow. They are also the audit log's event types, next to
// Requested and the failure notices.
const (
	Requested        Event = "request"
	Approve          Event = "approve"
	Deny             Event = "deny"
	Withdraw         Event = "withdraw" // the requester or an admin takes a pending request back
	Expire           Event = "expire"
	Escalated        Event = "escalate"          // the strategy granted access
	EscalateFailed   Event = "error"             // the grant failed and nothing of it remains
	Revoke           Event = "revoke"            // someone asked to end access early
	Deescalated      Event = "deescalate"        // the strategy took access away
	DeescalateFailed Event = "deescalate_failed" // taking access away failed; it is retried until it succeeds
)

// IsFailureEvent reports the audit event types an environment's error
// logger receives: a request errored, or a de-escalation attempt failed.
func IsFailureEvent(typ string) bool {
	return typ == string(EscalateFailed) || typ == string(DeescalateFailed)
}

// Effect is work a transition owes to the outside world.
type Effect string

// Effects.
const (
	EffectGrant  Effect = "grant"
	EffectRevoke Effect = "revoke"
)

// TransitionError says that an event does not apply to a state.
type TransitionError struct {
	From  State
	Event Event
}

func (e *TransitionError) Error() string {
	switch {
	case e.From == Ended && e.Event == Revoke:
		return "request has already ended"
	case e.From == Pending && e.Event == Revoke:
		return "request is pending, so there is no access to revoke: withdraw it instead (sym withdraw ID), or an approver denies it"
	case e.From == Removing && (e.Event == Revoke || e.Event == Withdraw):
		return "access is already being removed; sym retries until AWS confirms it"
	case e.Event == Withdraw && e.From.HoldsAccess():
		return fmt.Sprintf("request is already %s: revoke it instead (sym revoke ID)", e.From)
	case e.From == Approved && e.Event == Revoke:
		return "access is being granted right now; revoke once it is active"
	case e.From.IsResolved():
		return fmt.Sprintf("request is %s; it cannot be %s", e.From, pastTense(e.Event))
	case e.From == Active || e.From == Approved || e.From == Removing:
		return fmt.Sprintf("request is already %s; it cannot be %s", e.From, pastTense(e.Event))
	}
	return fmt.Sprintf("cannot %s a request that is %s", e.Event, e.From)
}

func pastTense(ev Event) string {
	switch ev {
	case Approve:
		return "approved"
	case Deny:
		return "denied"
	case Expire:
		return "expired"
	case Revoke:
		return "revoked"
	case Withdraw:
		return "withdrawn"
	case Escalated:
		return "escalated"
	case Deescalated:
		return "de-escalated"
	}
	return string(ev)
}

type edge struct {
	from State
	ev   Event
}

type outcome struct {
	to      State
	effects []Effect
}

// The whole machine. A Revoke in Active does not change the state: it owes
// a de-escalation, and the Deescalated event that follows ends the request.
// The engine sends EscalateFailed and Deescalated only once the grant ledger
// holds no open entry for the request: a request that may hold access is
// never errored or ended, it is removing.
var machine = map[edge]outcome{
	{Pending, Approve}:    {Approved, []Effect{EffectGrant}},
	{Pending, Deny}:       {Denied, nil},
	{Pending, Expire}:     {Expired, nil},
	{Pending, Withdraw}:   {Withdrawn, nil},
	{Approved, Escalated}: {Active, nil},
	// The grant failed and whatever part of it may have landed is gone.
	{Approved, EscalateFailed}: {Errored, nil},
	// The grant failed (or its deadline passed during a crash) and removing
	// what may have landed failed too: retried.
	{Approved, DeescalateFailed}: {Removing, []Effect{EffectRevoke}},
	// A grant interrupted by a crash whose deadline has passed is undone.
	{Approved, Deescalated}:      {Ended, nil},
	{Active, Revoke}:             {Active, []Effect{EffectRevoke}},
	{Active, Deescalated}:        {Ended, nil},
	{Active, DeescalateFailed}:   {Removing, []Effect{EffectRevoke}},
	{Removing, DeescalateFailed}: {Removing, []Effect{EffectRevoke}},
	{Removing, Deescalated}:      {Ended, nil},
	// A failed grant's leftovers are removed: the request ends as errored.
	{Removing, EscalateFailed}: {Errored, nil},
}

// Transition is the request's state machine: the state an event leads to
// from s, and the effects that it owes. An event that does not apply is a
// *TransitionError.
func Transition(s State, ev Event) (State, []Effect, error) {
	o, ok := machine[edge{s, ev}]
	if !ok {
		return s, nil, &TransitionError{From: s, Event: ev}
	}
	return o.to, o.effects, nil
}

// Request is one ask for access to one target.
type Request struct {
	ID         string `json:"id"`
	State      State  `json:"state"`
	FlowID     string `json:"flow_id"`
	Flow       string `json:"flow"`
	TargetID   string `json:"target_id"`
	Target     string `json:"target"`
	StrategyID string `json:"strategy_id,omitempty"`
	Requester  string `json:"requester"`
	Reason     string `json:"reason"`
	// Fields are the flow's other prompt fields as the requester filled
	// them in (a ticket number, say), by field name.
	Fields map[string]string `json:"fields,omitempty"`
	// Identity and Granted record, at approval, whom the grant is for and the
	// target settings it acts on (with "type"): de-escalation undoes exactly
	// that.
	Identity string            `json:"identity,omitempty"`
	Granted  map[string]string `json:"granted,omitempty"`
	Duration time.Duration     `json:"-"`
	Approver string            `json:"approver,omitempty"`
	Message  string            `json:"message,omitempty"`
	// EndedBy and EndMessage say who revoked or withdrew the request, and
	// why.
	EndedBy        string `json:"ended_by,omitempty"`
	EndMessage     string `json:"end_message,omitempty"`
	Error          string `json:"error,omitempty"`
	DeescalateType string `json:"deescalate_type,omitempty"` // scheduled or revoke
	// DeescalateError is the last failed attempt to take access away; it is
	// cleared when an attempt succeeds.
	DeescalateError string     `json:"deescalate_error,omitempty"`
	CreatedAt       time.Time  `json:"created_at"`
	UpdatedAt       time.Time  `json:"updated_at"`
	ExpiresAt       time.Time  `json:"expires_at"`         // pending requests expire then
	Deadline        *time.Time `json:"deadline,omitempty"` // access ends then
	GrantedAt       *time.Time `json:"granted_at,omitempty"`
	EndedAt         *time.Time `json:"ended_at,omitempty"`
}

// FormatDuration writes d the way people write durations: 1h, 30m, 1h30m,
// 45s, rather than Go's 1h0m0s.
func FormatDuration(d time.Duration) string {
	if d <= 0 {
		return d.String()
	}
	s := d.String()
	for _, zero := range []string{"0s", "0m"} {
		if len(s) > len(zero) && s[len(s)-len(zero):] == zero && (s[len(s)-len(zero)-1] < '0' || s[len(s)-len(zero)-1] > '9') {
			s = s[:len(s)-len(zero)]
		}
	}
	return s
}

// SystemActor is the audit actor of the steps the platform takes by itself
// (a scheduled removal, a reconciler repair, a delivery given up).
const SystemActor = "sym"

// AuditEvent is one line of the append-only audit log.
type AuditEvent struct {
	Seq       int64             `json:"seq"`
	ID        string            `json:"id"`
	RequestID string            `json:"request_id,omitempty"`
	Type      string            `json:"type"`
	Actor     string            `json:"actor"`
	At        time.Time         `json:"at"`
	Details   map[string]string `json:"details,omitempty"`
}
