package web

import (
	"context"
	"encoding/json"
	"html/template"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/opensym/sym/internal/engine"
	"github.com/opensym/sym/internal/model"
	"github.com/opensym/sym/internal/store"
)

// row is a request with the buttons its viewer may press.
type row struct {
	*model.Request
	CanDecide   bool
	CanRevoke   bool
	CanWithdraw bool
}

func (a *App) rows(ctx context.Context, actor engine.Actor, reqs []*model.Request) []row {
	out := make([]row, 0, len(reqs))
	for _, r := range reqs {
		out = append(out, row{Request: r, CanDecide: a.mayDecide(ctx, actor, r), CanRevoke: a.mayRevoke(ctx, actor, r),
			CanWithdraw: a.mayWithdraw(ctx, actor, r)})
	}
	return out
}

// ---- request access ----

type requestData struct {
	Forms  []engine.FlowForm
	Flow   string // the flow picked (by name)
	Form   *engine.FlowForm
	Values map[string]string
}

// webSource is how the web app's requests count against a flow's
// params.allowed_sources: as the API's (the provider accepts slack and
// api there, and the web app is a front end of the API).
const webSource = engine.SourceAPI

func (a *App) requestPage(w http.ResponseWriter, r *http.Request, s *session) {
	a.showRequestForm(w, r, s, 200, "", map[string]string{})
}

func (a *App) showRequestForm(w http.ResponseWriter, r *http.Request, s *session, status int, errMsg string, values map[string]string) {
	forms, err := a.cfg.Engine.Forms(r.Context(), webSource)
	if err != nil {
		a.failErr(w, r, s, err)
		return
	}
	d := requestData{Forms: forms, Flow: firstNonEmpty(values["flow"], r.URL.Query().Get("flow")), Values: values}
	if d.Flow == "" && len(forms) > 0 {
		d.Flow = forms[0].Name
	}
	d.Form = formFor(forms, d.Flow)
	if d.Form != nil && values["duration"] == "" {
		values["duration"] = d.Form.DefaultDuration
	}
	a.render(w, r, s, status, "request", page{Title: "Request access", Nav: "request", Error: errMsg, Data: d})
}

// formFor is the form of the flow named by name or id, or nil.
func formFor(forms []engine.FlowForm, flow string) *engine.FlowForm {
	var out *engine.FlowForm
	for i := range forms {
		if strings.EqualFold(forms[i].Name, flow) || forms[i].ID == flow {
			out = &forms[i]
		}
	}
	return out
}

// fieldValue reads a prompt field from the form as its type is read by the
// API and Slack: a checkbox sends "false" (a hidden input) and then "true"
// when it is ticked, so the last value wins; a list is a textarea of one
// item a line, sent on as a,b.
func fieldValue(typ string, vs []string) string {
	switch typ {
	case "bool":
		return strings.TrimSpace(vs[len(vs)-1])
	}
	if model.IsListType(typ) {
		return model.ListFromText(strings.Join(vs, "\n"))
	}
	return strings.TrimSpace(vs[0])
}

func (a *App) createRequest(w http.ResponseWriter, r *http.Request, s *session) {
	forms, err := a.cfg.Engine.Forms(r.Context(), webSource)
	if err != nil {
		a.failErr(w, r, s, err)
		return
	}
	types := map[string]string{}
	if form := formFor(forms, r.PostFormValue("flow")); form != nil {
		for _, f := range form.Fields {
			types[f.Name] = f.Type
		}
	}
	values := map[string]string{} // shown again in the form after a refusal
	inputs := map[string]any{}
	for k, vs := range r.PostForm {
		name, ok := strings.CutPrefix(k, "in.")
		if !ok || len(vs) == 0 {
			continue
		}
		v := fieldValue(types[name], vs)
		values[name] = v
		if model.IsListType(types[name]) {
			values[name] = strings.TrimSpace(vs[0]) // the textarea as typed
		}
		if v != "" {
			inputs[name] = v
		}
	}
	values["flow"] = r.PostFormValue("flow")
	req, err := a.cfg.Engine.Request(r.Context(), s.actor, engine.RequestInput{Flow: values["flow"], Inputs: inputs, Source: webSource})
	if err != nil {
		status, msg := a.words(r, err)
		a.showRequestForm(w, r, s, status, msg, values)
		return
	}
	a.flash(w, "Your request for "+req.Target+" is waiting for an approver.")
	a.redirect(w, r, "/requests/"+req.ID)
}

// ---- lists ----

// myRequestsPage is how many requests My requests shows at once; a link
// leads to the older ones.
const myRequestsPage = 200

func (a *App) myRequests(w http.ResponseWriter, r *http.Request, s *session) {
	before := r.URL.Query().Get("before")
	// The engine's rule: paging after a request one may not see reads as
	// paging after one that does not exist.
	reqs, err := a.cfg.Engine.ListFor(r.Context(), s.actor, "", s.actor.Email, before, myRequestsPage+1)
	if store.IsNotFound(err) {
		a.fail(w, r, s, http.StatusNotFound, "There is no request "+before+" to list older requests from; start again at My requests.")
		return
	}
	if err != nil {
		a.failErr(w, r, s, err)
		return
	}
	older := ""
	if len(reqs) > myRequestsPage {
		reqs = reqs[:myRequestsPage]
		older = reqs[len(reqs)-1].ID
	}
	a.render(w, r, s, 200, "list", page{Title: "My requests", Nav: "mine", Data: map[string]any{
		"Rows": a.rows(r.Context(), s.actor, reqs), "Empty": "You have not asked for access yet.", "Requester": false,
		"Older": older}})
}

func (a *App) approvals(w http.ResponseWriter, r *http.Request, s *session) {
	// Every pending request is read: the ones this approver may decide
	// can be anywhere among them.
	reqs, err := a.allRequests(r.Context(), model.Pending)
	if err != nil {
		a.failErr(w, r, s, err)
		return
	}
	var mine []*model.Request
	now := a.cfg.Now()
	for _, req := range reqs {
		if req.ExpiresAt.After(now) && a.mayDecide(r.Context(), s.actor, req) {
			mine = append(mine, req)
		}
	}
	a.render(w, r, s, 200, "approvals", page{Title: "To approve", Nav: "approvals", Data: a.rows(r.Context(), s.actor, mine)})
}

func (a *App) active(w http.ResponseWriter, r *http.Request, s *session) {
	if err := mayListActive(s.actor); err != nil {
		a.fail(w, r, s, http.StatusForbidden, "You may not see this page: "+err.Error()+".")
		return
	}
	reqs, err := a.allRequests(r.Context(), model.Active)
	if err != nil {
		a.failErr(w, r, s, err)
		return
	}
	// Removing requests may still hold access: they are listed too.
	removing, err := a.allRequests(r.Context(), model.Removing)
	if err != nil {
		a.failErr(w, r, s, err)
		return
	}
	reqs = append(reqs, removing...)
	slices.SortFunc(reqs, func(x, y *model.Request) int {
		if x.Deadline == nil || y.Deadline == nil {
			return 0
		}
		return x.Deadline.Compare(*y.Deadline)
	})
	a.render(w, r, s, 200, "list", page{Title: "Active access", Nav: "active", Data: map[string]any{
		"Rows": a.rows(r.Context(), s.actor, reqs), "Empty": "Nobody holds access through sym right now.", "Requester": true}})
}

// allRequests lists every request in a state, newest first, reading the
// store a page at a time (a page where everything is meant: every pending
// request, all access held now).
func (a *App) allRequests(ctx context.Context, state model.State) ([]*model.Request, error) {
	var out []*model.Request
	for before := ""; ; {
		page, err := a.cfg.Store.ListRequestsBefore(ctx, string(state), "", before, store.MaxList)
		if err != nil {
			return nil, err
		}
		out = append(out, page...)
		if len(page) < store.MaxList {
			return out, nil
		}
		before = page[len(page)-1].ID
	}
}

// ---- one request ----

func (a *App) detail(w http.ResponseWriter, r *http.Request, s *session) {
	req, err := a.cfg.Engine.Get(r.Context(), r.PathValue("id"))
	if err != nil || !a.maySee(r.Context(), s.actor, req) {
		// Requests one may not see are not found, as in the API.
		a.fail(w, r, s, http.StatusNotFound, "There is no request "+r.PathValue("id")+" that you may see.")
		return
	}
	evs, err := a.cfg.Store.Events(r.Context(), req.ID, 0, 1000)
	if err != nil {
		a.failErr(w, r, s, err)
		return
	}
	a.render(w, r, s, 200, "detail", page{Title: "Request " + req.Target, Data: map[string]any{
		"Row": a.rows(r.Context(), s.actor, []*model.Request{req})[0], "Events": evs}})
}

// act approves, denies or revokes through the engine, which checks the
// same rules again.
func (a *App) act(w http.ResponseWriter, r *http.Request, s *session) {
	id, msg := r.PathValue("id"), strings.TrimSpace(r.PostFormValue("message"))
	if len(msg) > 2000 {
		a.fail(w, r, s, http.StatusBadRequest, "The message is longer than 2000 characters.")
		return
	}
	var err error
	var done string
	switch r.PathValue("action") {
	case "approve":
		var req *model.Request
		req, err = a.cfg.Engine.Approve(r.Context(), s.actor, id, msg)
		if err == nil {
			done = "Approved. " + req.Requester + " has access to " + req.Target + " now."
			if req.State == model.Errored {
				done = "Approved, but the grant failed: " + req.Error
			} else if req.State == model.Removing {
				done = "Approved, but the grant failed: " + req.Error + ". What may have landed is being removed; sym retries until AWS confirms."
			}
		}
	case "deny":
		_, err = a.cfg.Engine.Deny(r.Context(), s.actor, id, msg)
		done = "Denied."
	case "revoke":
		_, err = a.cfg.Engine.Revoke(r.Context(), s.actor, id, msg)
		done = "Revoked: access is removed."
	case "withdraw":
		_, err = a.cfg.Engine.Withdraw(r.Context(), s.actor, id, msg)
		done = "Withdrawn: the request is closed."
	default:
		a.fail(w, r, s, http.StatusNotFound, "There is no action "+r.PathValue("action")+"; use approve, deny, revoke or withdraw.")
		return
	}
	if err != nil {
		a.failErr(w, r, s, err)
		return
	}
	a.flash(w, done)
	a.redirect(w, r, localPath(r.PostFormValue("back"), "/requests/"+id))
}

// ---- audit ----

type auditFilter struct {
	User, Flow, Target, From, To string
}

type auditRow struct {
	model.AuditEvent
	Flow, Target string
}

func (a *App) auditRows(r *http.Request, f auditFilter, limit int) ([]auditRow, error) {
	ctx := r.Context()
	var from, to time.Time
	if f.From != "" {
		from, _ = parseWhen(f.From)
	}
	if f.To != "" {
		to, _ = parseWhen(f.To)
	}
	reqs := map[string]*model.Request{}
	var out []auditRow
	var after int64
	for {
		evs, err := a.cfg.Store.Events(ctx, "", after, 5000)
		if err != nil {
			return nil, err
		}
		for _, e := range evs {
			after = e.Seq
			if (!from.IsZero() && e.At.Before(from)) || (!to.IsZero() && e.At.After(to)) {
				continue
			}
			row := auditRow{AuditEvent: e}
			var req *model.Request
			if e.RequestID != "" {
				if req = reqs[e.RequestID]; req == nil {
					if got, err := a.cfg.Store.GetRequest(ctx, e.RequestID); err == nil {
						req, reqs[e.RequestID] = got, got
					}
				}
			}
			if req != nil {
				row.Flow, row.Target = req.Flow, req.Target
			}
			if f.User != "" && !strings.EqualFold(e.Actor, f.User) && (req == nil || !strings.EqualFold(req.Requester, f.User)) {
				continue
			}
			if f.Flow != "" && !strings.EqualFold(row.Flow, f.Flow) {
				continue
			}
			if f.Target != "" && !strings.EqualFold(row.Target, f.Target) {
				continue
			}
			out = append(out, row)
		}
		if len(evs) < 5000 {
			break
		}
	}
	slices.Reverse(out) // newest first
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// parseWhen reads the audit filter's times: RFC 3339, or the browser's
// datetime-local value (taken as UTC).
func parseWhen(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339, "2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, &engine.Error{Kind: engine.Invalid, Field: "time", Message: s + " is not a time (use 2006-01-02T15:04)"}
}

// exportPath is the export of the same selection. It is built from the
// filter, each value encoded once, and handed to the template as a URL:
// html/template would otherwise escape the whole query as one value, and
// the export would lose the filter.
func (f auditFilter) exportPath() template.URL {
	q := url.Values{}
	for k, v := range map[string]string{"user": f.User, "flow": f.Flow, "target": f.Target, "from": f.From, "to": f.To} {
		if v != "" {
			q.Set(k, v)
		}
	}
	return template.URL("/audit/export?" + q.Encode())
}

func readFilter(r *http.Request) (auditFilter, error) {
	q := r.URL.Query()
	f := auditFilter{User: strings.TrimSpace(q.Get("user")), Flow: strings.TrimSpace(q.Get("flow")),
		Target: strings.TrimSpace(q.Get("target")), From: q.Get("from"), To: q.Get("to")}
	for _, v := range []string{f.From, f.To} {
		if v != "" {
			if _, err := parseWhen(v); err != nil {
				return f, err
			}
		}
	}
	return f, nil
}

func (a *App) audit(w http.ResponseWriter, r *http.Request, s *session) {
	if err := mayAudit(s.actor); err != nil {
		a.fail(w, r, s, http.StatusForbidden, "You may not see this page: "+err.Error()+".")
		return
	}
	f, err := readFilter(r)
	if err != nil {
		a.failErr(w, r, s, err)
		return
	}
	rows, err := a.auditRows(r, f, 500)
	if err != nil {
		a.failErr(w, r, s, err)
		return
	}
	a.render(w, r, s, 200, "audit", page{Title: "Audit", Nav: "audit", Data: map[string]any{
		"Filter": f, "Rows": rows, "Export": f.exportPath()}})
}

// auditExport sends the filtered events as JSON lines, oldest first.
func (a *App) auditExport(w http.ResponseWriter, r *http.Request, s *session) {
	if err := mayAudit(s.actor); err != nil {
		a.fail(w, r, s, http.StatusForbidden, "You may not export the audit log: "+err.Error()+".")
		return
	}
	f, err := readFilter(r)
	if err != nil {
		a.failErr(w, r, s, err)
		return
	}
	rows, err := a.auditRows(r, f, 0)
	if err != nil {
		a.failErr(w, r, s, err)
		return
	}
	slices.Reverse(rows)
	w.Header().Set("Content-Type", "application/x-ndjson")
	w.Header().Set("Content-Disposition", `attachment; filename="sym-audit.jsonl"`)
	enc := json.NewEncoder(w)
	for _, row := range rows {
		_ = enc.Encode(row.AuditEvent)
	}
}
