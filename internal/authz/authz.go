// Package authz decides who may do what. It is the one place for that rule:
// the API, the engine, the web app and Slack all call Check, and
// docs/authz.md carries the same table (a test reads the document and
// compares it with Table, and the server's matrix test drives every cell
// over HTTP), so the written model and the code cannot drift apart.
//
// The package is pure: no I/O, no imports of ours. Callers describe the
// caller and the resource; the table says allow, 401, 403 or 404.
package authz

import (
	"fmt"
	"strings"
)

// Role is a user's role.
type Role string

// Roles. An automation user holds tokens for machines (CI, Terraform, a
// chat bot): it may request on behalf of people but never decides.
const (
	RoleAdmin      Role = "admin"
	RoleMember     Role = "member"
	RoleAuditor    Role = "auditor"
	RoleAutomation Role = "automation"
)

// Roles lists the roles a user may have.
var Roles = []Role{RoleAdmin, RoleMember, RoleAuditor, RoleAutomation}

// ValidRole reports a known role.
func ValidRole(r string) bool {
	for _, k := range Roles {
		if string(k) == r {
			return true
		}
	}
	return false
}

// HoldsAccess reports whether a user of role r may be granted access:
// admins and members. Auditors read and automation users act for others;
// neither is granted anything, and a move to either role ends what the user
// held, so nobody requests access on their behalf either.
func HoldsAccess(r Role) bool { return r == RoleAdmin || r == RoleMember }

// Caller is who calls: an authenticated user, the SYM_ADMIN_TOKEN bot, or
// nobody (Email empty and not Bot).
type Caller struct {
	Email string
	Role  Role
	// Bot is the SYM_ADMIN_TOKEN bot. It and every token of a user with
	// role automation are automation tokens.
	Bot bool
}

// Automation reports an automation token.
func (c Caller) Automation() bool { return c.Bot || c.Role == RoleAutomation }

// Anonymous reports a caller without a valid token.
func (c Caller) Anonymous() bool { return !c.Bot && c.Email == "" }

// Resource is what the caller acts on. The zero value is a resource that
// belongs to nobody in particular (the org, the entity catalogue).
type Resource struct {
	// Owner is the requester of a request, the user a token or user record
	// belongs to, or the person a new request is for.
	Owner string
	// Flow, Approvers, AllowSelfApproval and NoRevoke describe the flow of
	// a request.
	Flow              string
	Approvers         []string
	AllowSelfApproval bool
	NoRevoke          bool // the flow sets allow_revoke = false
	// SameIdentity maps the email of a caller who is not the requester
	// but holds the identity the request's grant goes to (a second
	// account mapped to the same IAM user, say) to that identity, e.g.
	// "aws_iam bob". Such a caller stands in the own columns: approving
	// it would be approving access for themselves.
	SameIdentity map[string]string
}

// Own reports whether the resource is the caller's: they are its owner,
// or its grant goes to an identity that is theirs too.
func (r Resource) Own(email string) bool {
	if email == "" {
		return false
	}
	return strings.EqualFold(r.Owner, email) || r.SameIdentity[strings.ToLower(email)] != ""
}

// Approver reports whether email is one of the flow's approvers.
func (r Resource) Approver(email string) bool {
	for _, a := range r.Approvers {
		if email != "" && strings.EqualFold(strings.TrimSpace(a), email) {
			return true
		}
	}
	return false
}

// Column is a kind of caller relative to a resource: a column of the table.
type Column string

// Columns, in the order of docs/authz.md. "own" is a request the caller
// made (or their own user record or token); "approver" is a member listed
// in the flow's approvers; "automation" is a token of a user with role
// automation (a CI secret) and "bot" the SYM_ADMIN_TOKEN bot, the server's
// own root credential that bootstraps users and tokens.
const (
	Anonymous      Column = "anonymous"
	MemberOwn      Column = "member:own"
	MemberOthers   Column = "member:others"
	ApproverOwn    Column = "approver:own"
	ApproverOthers Column = "approver:others"
	Auditor        Column = "auditor"
	AdminOwn       Column = "admin:own"
	AdminOthers    Column = "admin:others"
	Automation     Column = "automation"
	Bot            Column = "bot"
)

// Columns lists the table's columns in order.
var Columns = []Column{Anonymous, MemberOwn, MemberOthers, ApproverOwn, ApproverOthers, Auditor, AdminOwn, AdminOthers, Automation, Bot}

// ColumnOf places a caller relative to a resource: the first of ColumnsOf.
func ColumnOf(c Caller, r Resource) Column { return ColumnsOf(c, r)[0] }

// ColumnsOf lists every column a caller stands in for a resource, the
// role's own first: an admin who is also listed as an approver of the
// flow stands in both the admin and the approver column, and gets the
// more permissive of the two decisions.
func ColumnsOf(c Caller, r Resource) []Column {
	own := r.Own(c.Email)
	approver := r.Approver(c.Email)
	var out []Column
	switch {
	case c.Anonymous():
		return []Column{Anonymous}
	case c.Bot:
		return []Column{Bot}
	case c.Automation():
		// Automation never stands in an approver column, listed or not.
		return []Column{Automation}
	case c.Role == RoleAuditor:
		return []Column{Auditor}
	case c.Role == RoleAdmin && own:
		out = append(out, AdminOwn)
	case c.Role == RoleAdmin:
		out = append(out, AdminOthers)
	case !approver && own:
		return []Column{MemberOwn}
	case !approver:
		return []Column{MemberOthers}
	}
	if approver && own {
		out = append(out, ApproverOwn)
	} else if approver {
		out = append(out, ApproverOthers)
	}
	return out
}

// Decision is a cell of the table.
type Decision string

// Decisions. Hidden answers 404: the caller may not learn that the
// resource exists.
const (
	Allow           Decision = "allow"
	Unauthenticated Decision = "401"
	Forbidden       Decision = "403"
	Hidden          Decision = "404"
)

// Action names a row of the table.
type Action string

// Actions. The approve, deny and revoke actions are resolved to their
// variant row by Check from the flow the request belongs to.
const (
	ReadOrg             Action = "org.read"
	ListRequestable     Action = "entities.requestable"
	ReadEntities        Action = "entities.read"
	WriteEntities       Action = "entities.write"
	ListUsers           Action = "users.list"
	ReadUser            Action = "users.read"
	WriteUsers          Action = "users.write"
	IssueToken          Action = "tokens.issue"
	ListTokens          Action = "tokens.list"
	RevokeToken         Action = "tokens.revoke"
	CreateRequest       Action = "requests.create"
	ListRequests        Action = "requests.list"
	ReadRequest         Action = "requests.read"
	ReadRequestEvents   Action = "requests.events"
	Approve             Action = "requests.approve"
	ApproveNoApprovers  Action = "requests.approve.no_approvers"
	ApproveSelfApproval Action = "requests.approve.self_approval"
	Deny                Action = "requests.deny"
	DenyNoApprovers     Action = "requests.deny.no_approvers"
	DenySelfApproval    Action = "requests.deny.self_approval"
	Revoke              Action = "requests.revoke"
	RevokeNotAllowed    Action = "requests.revoke.not_allowed"
	Withdraw            Action = "requests.withdraw"
	ReadEvents          Action = "events.read"
	Reconcile           Action = "reconcile.run"
)

// Rule is a row: an action, the endpoints it covers, a decision per
// column, and why a refusal happens (said in the 403 message).
type Rule struct {
	Action    Action
	Endpoints string
	Cells     map[Column]Decision
	// Why explains a refusal; %[1]s is the flow's name.
	Why string
}

// row builds a Rule from cells in Columns order.
func row(a Action, endpoints, why string, cells ...Decision) Rule {
	if len(cells) != len(Columns) {
		panic(fmt.Sprintf("authz: rule %s has %d cells, want %d", a, len(cells), len(Columns)))
	}
	m := map[Column]Decision{}
	for i, c := range Columns {
		m[c] = cells[i]
	}
	return Rule{Action: a, Endpoints: endpoints, Cells: m, Why: why}
}

// Short names keep the table readable.
const (
	y = Allow
	u = Unauthenticated
	f = Forbidden
	h = Hidden
)

// Table is the authorization model, row by row. docs/authz.md shows the
// same rows; TestDocMatchesTable keeps them equal.
var Table = []Rule{
	//                                                                                               anon member:own member:others approver:own approver:others auditor admin:own admin:others automation bot
	row(ReadOrg, "GET /api/v1/org, GET /api/v1/server (its `guard_rails` only under `entities.read`)", "", u, y, y, y, y, y, y, y, y, y),
	row(ListRequestable, "GET /api/v1/entities/{flows,access-targets}[/{id}]",
		"members see the flows and targets they can request, by name and label only", u, y, y, y, y, y, y, y, y, y),
	row(ReadEntities, "GET /api/v1/entities/{kind}[/{id}] (other kinds; full fields), GET /api/v1/log-destinations/status",
		"integration settings, secrets and runtimes are for admins, auditors and automation", u, f, f, f, f, y, y, y, y, y),
	row(WriteEntities, "POST, PATCH, DELETE /api/v1/entities/{kind}[/{id}]",
		"entity writes need the admin role or an automation token", u, f, f, f, f, f, y, y, y, y),
	row(ListUsers, "GET /api/v1/users",
		"listing users needs the admin or auditor role", u, f, f, f, f, y, y, y, y, y),
	row(ReadUser, "GET /api/v1/users/{email}",
		"members may read only their own user", u, y, f, y, f, y, y, y, y, y),
	row(WriteUsers, "POST /api/v1/users, PATCH and DELETE /api/v1/users/{email}",
		"user, role and identity changes need the admin role or the admin bot (SYM_ADMIN_TOKEN): an automation user's token never makes an admin, changes its own role or moves someone's identity", u, f, f, f, f, f, y, y, f, y),
	row(IssueToken, "POST /api/v1/tokens, POST /api/v1/login-links",
		"issuing tokens and sign-in links needs the admin role or the admin bot (SYM_ADMIN_TOKEN): an automation user's token never mints a credential of someone who may decide", u, f, f, f, f, f, y, y, f, y),
	row(ListTokens, "GET /api/v1/tokens[?user_email=]",
		"members may list only their own tokens", u, y, f, y, f, y, y, y, y, y),
	row(RevokeToken, "DELETE /api/v1/tokens/{id}",
		"members may revoke only their own tokens", u, y, f, y, f, f, y, y, y, y),
	row(CreateRequest, "POST /api/v1/events/request (own: for oneself; others': user_email of someone else)",
		"only automation tokens request on behalf of someone else, auditors request nothing, and automation never holds access itself", u, y, f, y, f, f, y, f, y, y),
	row(ListRequests, "GET /api/v1/requests (members: only the requests they may read)", "", u, y, y, y, y, y, y, y, y, y),
	row(ReadRequest, "GET /api/v1/requests/{id}",
		"members see their own requests and those they may approve", u, y, h, y, y, y, y, y, y, y),
	row(ReadRequestEvents, "GET /api/v1/requests/{id}/events",
		"members see the events of their own requests and of those they may approve", u, y, h, y, y, y, y, y, y, y),
	row(Approve, "POST /api/v1/requests/{id}/approve (flow with approvers)",
		"only the approvers of flow %[1]s decide its requests, never their own (the flow does not set allow_self_approval), never an auditor or an automation token", u, f, h, f, y, f, f, f, f, f),
	row(ApproveNoApprovers, "POST /api/v1/requests/{id}/approve (flow without approvers)",
		"flow %[1]s names no approvers, so only admins decide its requests (never their own); add approvers with vars.approvers = \"a@example.com, b@example.com\" on the flow", u, f, h, f, h, f, f, y, f, f),
	row(ApproveSelfApproval, "POST /api/v1/requests/{id}/approve (flow with approvers and allow_self_approval)",
		"only the approvers of flow %[1]s decide its requests (allow_self_approval lets an approver decide their own), never an auditor or an automation token", u, f, h, y, y, f, f, f, f, f),
	row(Deny, "POST /api/v1/requests/{id}/deny (flow with approvers)",
		"only the approvers of flow %[1]s decide its requests, never their own (the flow does not set allow_self_approval), never an auditor or an automation token", u, f, h, f, y, f, f, f, f, f),
	row(DenyNoApprovers, "POST /api/v1/requests/{id}/deny (flow without approvers)",
		"flow %[1]s names no approvers, so only admins decide its requests (never their own); add approvers with vars.approvers = \"a@example.com, b@example.com\" on the flow", u, f, h, f, h, f, f, y, f, f),
	row(DenySelfApproval, "POST /api/v1/requests/{id}/deny (flow with approvers and allow_self_approval)",
		"only the approvers of flow %[1]s decide its requests (allow_self_approval lets an approver decide their own), never an auditor or an automation token", u, f, h, y, y, f, f, f, f, f),
	row(Revoke, "POST /api/v1/requests/{id}/revoke (flow allows revoking)",
		"the requester, an approver of flow %[1]s, an admin or an automation token may revoke", u, y, h, y, y, f, y, y, y, y),
	row(RevokeNotAllowed, "POST /api/v1/requests/{id}/revoke (flow sets allow_revoke = false)",
		"flow %[1]s does not allow revoking (allow_revoke = false); access ends at its deadline unless an admin revokes it", u, f, h, f, f, f, y, y, y, y),
	row(Withdraw, "POST /api/v1/requests/{id}/withdraw",
		"only the requester, an admin or an automation token withdraws a pending request; an approver denies it instead", u, y, h, y, f, f, y, y, y, y),
	row(ReadEvents, "GET /api/v1/events (the whole audit log)",
		"the whole audit log is for admins and auditors; members read a visible request's events at /api/v1/requests/{id}/events", u, f, f, f, f, y, y, y, f, f),
	row(Reconcile, "POST /api/v1/reconcile[?dry_run=true]",
		"running the reconciler (it may change group memberships) needs the admin role or an automation token", u, f, f, f, f, f, y, y, y, y),
}

var byAction = func() map[Action]*Rule {
	m := map[Action]*Rule{}
	for i := range Table {
		m[Table[i].Action] = &Table[i]
	}
	return m
}()

// Lookup returns the rule of an action.
func Lookup(a Action) (*Rule, bool) {
	r, ok := byAction[a]
	return r, ok
}

// Variant resolves approve, deny and revoke to the row the flow selects.
func Variant(a Action, r Resource) Action {
	switch a {
	case Approve, Deny:
		switch {
		case len(r.Approvers) == 0 && a == Approve:
			return ApproveNoApprovers
		case len(r.Approvers) == 0:
			return DenyNoApprovers
		case r.AllowSelfApproval && a == Approve:
			return ApproveSelfApproval
		case r.AllowSelfApproval:
			return DenySelfApproval
		}
	case Revoke:
		if r.NoRevoke {
			return RevokeNotAllowed
		}
	}
	return a
}

// Denied is a refusal. Status is 401, 403 or 404; Rule names the row.
type Denied struct {
	Status int
	Rule   Action
	Column Column
	Reason string
}

func (d *Denied) Error() string {
	switch d.Status {
	case 401:
		return "authentication required: send Authorization: Bearer <token>"
	case 404:
		return "not found"
	}
	return fmt.Sprintf("forbidden by rule %s: %s", d.Rule, d.Reason)
}

// Check answers whether c may do a on r: nil, or a *Denied naming the rule.
func Check(a Action, c Caller, r Resource) error {
	a = Variant(a, r)
	rule, ok := byAction[a]
	if !ok {
		// An action nobody wrote down is refused, loudly.
		return &Denied{Status: 403, Rule: a, Reason: "no rule for this action"}
	}
	cols := ColumnsOf(c, r)
	col := cols[0]
	for _, k := range cols[1:] {
		if rule.Cells[k] == Allow {
			return nil
		}
	}
	switch rule.Cells[col] {
	case Allow:
		return nil
	case Unauthenticated:
		return &Denied{Status: 401, Rule: a, Column: col}
	case Hidden:
		return &Denied{Status: 404, Rule: a, Column: col}
	}
	flow := r.Flow
	if flow == "" {
		flow = "(unnamed)"
	}
	why := rule.Why
	if strings.Contains(why, "%[1]s") {
		why = fmt.Sprintf(why, flow)
	}
	if id := r.SameIdentity[strings.ToLower(c.Email)]; id != "" {
		why += fmt.Sprintf("; this request's grant goes to %s, which is your identity too", id)
	}
	return &Denied{Status: 403, Rule: a, Column: col, Reason: fmt.Sprintf("%s (you are %s, %s)", why, describe(c), col)}
}

func describe(c Caller) string {
	switch {
	case c.Bot:
		return "the admin bot"
	case c.Email != "":
		return fmt.Sprintf("%s, a %s", c.Email, c.Role)
	}
	return "anonymous"
}

// Allowed is Check as a boolean, for showing or hiding a button.
func Allowed(a Action, c Caller, r Resource) bool { return Check(a, c, r) == nil }

// ParseApprovers reads a flow's vars.approvers: emails separated by commas.
func ParseApprovers(list string) []string {
	var out []string
	for _, a := range strings.Split(list, ",") {
		if a = strings.ToLower(strings.TrimSpace(a)); a != "" {
			out = append(out, a)
		}
	}
	return out
}

// Markdown renders the table as docs/authz.md shows it.
func Markdown() string {
	var b strings.Builder
	b.WriteString("| rule | endpoints |")
	for _, c := range Columns {
		b.WriteString(" " + string(c) + " |")
	}
	b.WriteString("\n|---|---|")
	for range Columns {
		b.WriteString("---|")
	}
	b.WriteString("\n")
	for _, r := range Table {
		fmt.Fprintf(&b, "| `%s` | %s |", r.Action, r.Endpoints)
		for _, c := range Columns {
			b.WriteString(" " + string(r.Cells[c]) + " |")
		}
		b.WriteString("\n")
	}
	return b.String()
}

// ParseMarkdown reads the table back from a document: the rows of the first
// Markdown table whose header starts with "| rule |". It is what the tests
// use to hold docs/authz.md to Table and to drive the HTTP matrix.
func ParseMarkdown(doc string) ([]Rule, error) {
	var out []Rule
	var cols []Column
	for i, line := range strings.Split(doc, "\n") {
		line = strings.TrimSpace(line)
		if !strings.HasPrefix(line, "|") {
			if cols != nil && len(out) > 0 {
				break
			}
			continue
		}
		cells := strings.Split(strings.Trim(line, "|"), "|")
		for j := range cells {
			cells[j] = strings.TrimSpace(cells[j])
		}
		if cols == nil {
			if len(cells) < 3 || cells[0] != "rule" {
				continue
			}
			for _, c := range cells[2:] {
				cols = append(cols, Column(c))
			}
			continue
		}
		if strings.HasPrefix(cells[0], "---") {
			continue
		}
		if len(cells) != len(cols)+2 {
			return nil, fmt.Errorf("line %d: %d cells, want %d", i+1, len(cells), len(cols)+2)
		}
		r := Rule{Action: Action(strings.Trim(cells[0], "`")), Endpoints: cells[1], Cells: map[Column]Decision{}}
		for j, c := range cols {
			d := Decision(cells[j+2])
			switch d {
			case Allow, Unauthenticated, Forbidden, Hidden:
			default:
				return nil, fmt.Errorf("line %d: rule %s, column %s: unknown decision %q", i+1, r.Action, c, d)
			}
			r.Cells[c] = d
		}
		out = append(out, r)
	}
	if cols == nil {
		return nil, fmt.Errorf("no table with a header starting \"| rule |\"")
	}
	return out, nil
}
