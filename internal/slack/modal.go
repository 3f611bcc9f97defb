package slack

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/opensym/sym/internal/engine"
	"github.com/opensym/sym/internal/model"
	slackgo "github.com/slack-go/slack"
	"github.com/slack-go/slack/slackutilsx"
)

// Block and action ids of the request modal and message.
const (
	requestCallback = "sym_request"
	actionApprove   = "sym_approve"
	actionDeny      = "sym_deny"
	valueAction     = "value"
)

// ephemeral answers a slash command privately.
func ephemeral(w http.ResponseWriter, text string) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"response_type": "ephemeral", "text": slackutilsx.EscapeMessage(text)})
}

// command answers /sym [flow]: it opens the flow's request form.
func (a *App) command(w http.ResponseWriter, r *http.Request, ws *workspace) {
	cmd, err := slackgo.SlashCommandParse(r)
	if err != nil {
		http.Error(w, "not a slash command", http.StatusBadRequest)
		return
	}
	ctx := r.Context()
	if !strings.EqualFold(cmd.TeamID, ws.team) {
		ephemeral(w, fmt.Sprintf("workspace %s is not declared to sym: add a sym_integration of type slack with external_id = %q", cmd.TeamID, cmd.TeamID))
		return
	}
	if _, err := a.actor(ctx, ws, cmd.UserID); err != nil {
		ephemeral(w, "sym does not know you: "+err.Error())
		return
	}
	forms, err := a.cfg.Engine.Forms(ctx, Source)
	if err != nil {
		a.cfg.Log.Error("slack: list flows", "err", err)
		ephemeral(w, words(err))
		return
	}
	var names []string
	for _, f := range forms {
		names = append(names, f.Name)
	}
	want := strings.TrimSpace(cmd.Text)
	var form *engine.FlowForm
	switch {
	case len(forms) == 0:
		ephemeral(w, "No flow can be requested from Slack: an admin declares flows in Terraform (sym_flow), and a flow whose params.allowed_sources does not list slack is offered elsewhere only.")
		return
	case want == "" && len(forms) == 1:
		form = &forms[0]
	case want == "":
		ephemeral(w, "Which flow? Use `/sym <flow>` with one of: "+strings.Join(names, ", "))
		return
	default:
		for i := range forms {
			if strings.EqualFold(forms[i].Name, want) {
				form = &forms[i]
			}
		}
		if form == nil {
			ephemeral(w, fmt.Sprintf("There is no flow %q you can request from Slack. Flows: %s", want, strings.Join(names, ", ")))
			return
		}
	}
	if form.Problem != "" {
		ephemeral(w, "Flow "+form.Name+" cannot be requested now: "+form.Problem)
		return
	}
	if _, err := ws.api.OpenViewContext(ctx, cmd.TriggerID, requestModal(form)); err != nil {
		a.cfg.Log.Error("slack: open the request form", "err", err)
		ephemeral(w, "The request form could not be opened: "+err.Error())
		return
	}
	w.WriteHeader(http.StatusOK)
}

func plain(s string) *slackgo.TextBlockObject {
	return slackgo.NewTextBlockObject(slackgo.PlainTextType, s, false, false)
}

// markdown is a block's text in Slack's mrkdwn: what goes into it from
// outside sym passes through esc.
func markdown(s string) *slackgo.TextBlockObject {
	return slackgo.NewTextBlockObject(slackgo.MarkdownType, s, false, false)
}

// esc escapes &, < and > in text for mrkdwn, as Slack asks: whatever a
// person typed (a reason, a message, a name) then cannot mention a
// channel or show a link under another name. sym's own markup (*bold*, a
// > quote, :emoji:) stays outside it.
func esc(s string) string { return slackutilsx.EscapeMessage(s) }

func options(values []string) []*slackgo.OptionBlockObject {
	var out []*slackgo.OptionBlockObject
	for _, v := range values {
		out = append(out, slackgo.NewOptionBlockObject(v, plain(v), nil))
	}
	return out
}

func input(blockID, label string, optional bool, el slackgo.BlockElement) *slackgo.InputBlock {
	b := slackgo.NewInputBlock(blockID, plain(label), nil, el)
	b.Optional = optional
	return b
}

// requestModal is the flow's form: target, reason, duration and the flow's
// prompt fields, each by its type.
func requestModal(f *engine.FlowForm) slackgo.ModalViewRequest {
	var blocks []slackgo.Block
	if len(f.Targets) > 0 {
		var opts []*slackgo.OptionBlockObject
		for _, t := range f.Targets {
			opts = append(opts, slackgo.NewOptionBlockObject(t.Name, plain(t.Label), nil))
		}
		sel := slackgo.NewOptionsSelectBlockElement(slackgo.OptTypeStatic, plain("Choose a target"), valueAction, opts...)
		if len(opts) == 1 {
			sel.InitialOption = opts[0]
		}
		blocks = append(blocks, input("target_id", "Target", false, sel))
	}
	reason := slackgo.NewPlainTextInputBlockElement(plain("Why do you need access?"), valueAction)
	reason.Multiline = true
	blocks = append(blocks, input("reason", "Reason", !f.ReasonRequired, reason))
	if len(f.Durations) > 0 {
		sel := slackgo.NewOptionsSelectBlockElement(slackgo.OptTypeStatic, plain("How long?"), valueAction, options(f.Durations)...)
		for _, o := range sel.Options {
			if o.Value == f.DefaultDuration {
				sel.InitialOption = o
			}
		}
		blocks = append(blocks, input("duration", "Duration", false, sel))
	} else {
		d := slackgo.NewPlainTextInputBlockElement(plain("30m, 1h, 1h30m"), valueAction)
		d.InitialValue = f.DefaultDuration
		blocks = append(blocks, input("duration", "Duration", false, d))
	}
	for _, pf := range f.Fields {
		blocks = append(blocks, fieldBlock(pf))
	}
	if ap := f.Vars["approvers"]; ap != "" {
		blocks = append(blocks, slackgo.NewContextBlock("approvers", markdown("Approvers: "+esc(ap))))
	}
	title := "Request access"
	return slackgo.ModalViewRequest{Type: slackgo.VTModal, Title: plain(title), Submit: plain("Request"), Close: plain("Cancel"),
		CallbackID: requestCallback, PrivateMetadata: f.ID, Blocks: slackgo.Blocks{BlockSet: blocks}}
}

func fieldBlock(pf engine.PromptField) slackgo.Block {
	id := "field:" + pf.Name
	optional := !pf.Required
	if len(pf.AllowedValues) > 0 {
		sel := slackgo.NewOptionsSelectBlockElement(slackgo.OptTypeStatic, plain("Choose"), valueAction, options(pf.AllowedValues)...)
		for _, o := range sel.Options {
			if o.Value == pf.Default {
				sel.InitialOption = o // as the web form selects it
			}
		}
		return input(id, pf.Label, optional, sel)
	}
	switch pf.Type {
	case "bool":
		// Never a required input: an unticked box is the answer no, sent
		// as false (as the web form does), so it starts as the default.
		yes := slackgo.NewOptionBlockObject("true", plain("Yes"), nil)
		box := slackgo.NewCheckboxGroupsBlockElement(valueAction, yes)
		if pf.Default == "true" {
			box.InitialOptions = []*slackgo.OptionBlockObject{yes}
		}
		return input(id, pf.Label, true, box)
	case "slack_user":
		return input(id, pf.Label, optional, slackgo.NewOptionsSelectBlockElement(slackgo.OptTypeUser, plain("Choose a person"), valueAction))
	case "slack_user_list":
		return input(id, pf.Label, optional, slackgo.NewOptionsMultiSelectBlockElement(slackgo.MultiOptTypeUser, plain("Choose people"), valueAction))
	}
	el := slackgo.NewPlainTextInputBlockElement(nil, valueAction)
	el.InitialValue = pf.Default
	if pf.Type == "str_list" || pf.Type == "int_list" {
		el.Multiline = true
		el.Placeholder = plain("one per line")
	}
	return input(id, pf.Label, optional, el)
}

// interaction handles the modal's submission and the message buttons.
func (a *App) interaction(w http.ResponseWriter, r *http.Request, ws *workspace) {
	var cb slackgo.InteractionCallback
	if err := json.Unmarshal([]byte(r.PostFormValue("payload")), &cb); err != nil {
		http.Error(w, "the payload is not an interaction", http.StatusBadRequest)
		return
	}
	ctx := r.Context()
	if !strings.EqualFold(cb.Team.ID, ws.team) {
		a.cfg.Log.Warn("slack interaction refused: signed for another workspace", "team", cb.Team.ID)
		http.Error(w, "workspace "+cb.Team.ID+" is not the one this signature belongs to", http.StatusForbidden)
		return
	}
	switch cb.Type {
	case slackgo.InteractionTypeViewSubmission:
		if cb.View.CallbackID == requestCallback {
			a.submit(ctx, w, ws, &cb)
			return
		}
	case slackgo.InteractionTypeBlockActions:
		// Slack shows the clicker an error when the answer takes more than
		// three seconds, and a grant may take longer (Identity Center is
		// polled until it says SUCCEEDED, AWS calls are retried): the click
		// is answered at once and decided after, the outcome told by the
		// updated message or an ephemeral refusal. Stop waits for it.
		for _, act := range cb.ActionCallback.BlockActions {
			if act.ActionID == actionApprove || act.ActionID == actionDeny {
				a.later(func() { a.decide(context.WithoutCancel(ctx), ws, &cb, act) })
			}
		}
		w.WriteHeader(http.StatusOK)
		return
	}
	w.WriteHeader(http.StatusOK)
}

func respondJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

// submit creates the request from the modal; a field the engine refuses is
// shown under that field.
func (a *App) submit(ctx context.Context, w http.ResponseWriter, ws *workspace, cb *slackgo.InteractionCallback) {
	actor, err := a.actor(ctx, ws, cb.User.ID)
	if err != nil {
		respondJSON(w, slackgo.NewErrorsViewSubmissionResponse(map[string]string{"reason": err.Error()}))
		return
	}
	// A list field is a multi-line text input: one item a line, as in the
	// web form. Other text (a reason) is kept as typed, lines and all. A
	// checkbox left unticked says no: false, as the web form sends it,
	// never the flow's default in its place.
	lists := map[string]bool{}
	inputs := map[string]any{}
	forms, err := a.cfg.Engine.Forms(ctx, Source)
	if err != nil {
		respondJSON(w, slackgo.NewErrorsViewSubmissionResponse(map[string]string{"reason": words(err)}))
		return
	}
	for _, f := range forms {
		if f.ID == cb.View.PrivateMetadata {
			for _, pf := range f.Fields {
				lists[pf.Name] = model.IsListType(pf.Type)
				if pf.Type == "bool" && len(pf.AllowedValues) == 0 {
					inputs[pf.Name] = "false"
				}
			}
		}
	}
	if cb.View.State != nil {
		for blockID, acts := range cb.View.State.Values {
			act, ok := acts[valueAction]
			if !ok {
				continue
			}
			name := strings.TrimPrefix(blockID, "field:")
			v, err := a.value(ctx, ws, act)
			if err != nil {
				respondJSON(w, slackgo.NewErrorsViewSubmissionResponse(map[string]string{blockID: err.Error()}))
				return
			}
			if lists[name] && act.Type == "plain_text_input" {
				v = model.ListFromText(v)
			}
			if v != "" {
				inputs[name] = v
			}
		}
	}
	req, err := a.cfg.Engine.Request(ctx, actor, engine.RequestInput{Flow: cb.View.PrivateMetadata, Inputs: inputs, Source: Source})
	if err != nil {
		var ee *engine.Error
		block := "reason"
		if errors.As(err, &ee) && ee.Field != "" {
			f := strings.TrimPrefix(ee.Field, "flow_inputs.")
			if _, isBlock := cb.View.State.Values[f]; isBlock {
				block = f
			} else if _, isField := cb.View.State.Values["field:"+f]; isField {
				block = "field:" + f
			}
		}
		respondJSON(w, slackgo.NewErrorsViewSubmissionResponse(map[string]string{block: words(err)}))
		return
	}
	a.cfg.Log.Info("slack: request created", "request_id", req.ID, "user", actor.Email)
	a.Kick() // post it to the channel now
	respondJSON(w, slackgo.NewClearViewSubmissionResponse())
}

// value reads one input as text; people become emails.
func (a *App) value(ctx context.Context, ws *workspace, act slackgo.BlockAction) (string, error) {
	switch {
	case act.SelectedOption.Value != "":
		return act.SelectedOption.Value, nil
	case act.SelectedUser != "":
		return a.emailOf(ctx, ws, act.SelectedUser)
	case len(act.SelectedUsers) > 0:
		var emails []string
		for _, u := range act.SelectedUsers {
			e, err := a.emailOf(ctx, ws, u)
			if err != nil {
				return "", err
			}
			emails = append(emails, e)
		}
		return strings.Join(emails, ","), nil
	case len(act.SelectedOptions) > 0:
		var vs []string
		for _, o := range act.SelectedOptions {
			vs = append(vs, o.Value)
		}
		return strings.Join(vs, ","), nil
	}
	return strings.TrimSpace(act.Value), nil
}

// decide approves or denies from a button; a person the rules refuse gets
// an ephemeral message saying why, and nothing changes.
func (a *App) decide(ctx context.Context, ws *workspace, cb *slackgo.InteractionCallback, act *slackgo.BlockAction) {
	id := act.Value
	refuse := func(text string) {
		if _, err := ws.api.PostEphemeralContext(ctx, cb.Channel.ID, cb.User.ID, slackgo.MsgOptionText(text, true)); err != nil {
			a.cfg.Log.Error("slack: post refusal", "request_id", id, "err", err)
		}
	}
	actor, err := a.actor(ctx, ws, cb.User.ID)
	if err != nil {
		refuse("sym does not know you: " + err.Error())
		return
	}
	var req *model.Request
	if act.ActionID == actionApprove {
		req, err = a.cfg.Engine.Approve(ctx, actor, id, "")
	} else {
		req, err = a.cfg.Engine.Deny(ctx, actor, id, "")
	}
	if err != nil {
		a.cfg.Log.Info("slack: decision refused", "request_id", id, "user", actor.Email, "reason", err.Error())
		if k, ok := engine.KindOf(err); ok && k == engine.NotFound {
			// The authorization table hides others' requests from people
			// who may not act on them; in the channel the request is in
			// plain sight, so say what that means here.
			refuse("You may not approve or deny this request: sym shows it only to its requester, the flow's approvers, admins and auditors.")
			return
		}
		refuse(words(err))
		return
	}
	a.updateMessages(ctx, ws, req)
	a.Kick()
}
