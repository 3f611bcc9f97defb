package slack

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/opensym/sym/internal/logdest"
	"github.com/opensym/sym/internal/model"
	slackgo "github.com/slack-go/slack"
)

// ErrorSender delivers an error logger whose integration is a Slack
// workspace: each errored request and failed removal is posted to the
// logger's destination channel. It is a logdest.ErrorSenderFunc; the
// outbox of package logdest keeps the events until they are posted.
func (a *App) ErrorSender(ctx context.Context, in *model.Integration, destination string) (logdest.Sender, error) {
	channel := strings.TrimSpace(destination)
	if channel == "" {
		return nil, errors.New("the error logger names no Slack channel (destination)")
	}
	ws := &workspace{team: in.ExternalID, integrationID: in.ID, botToken: a.cfg.BotToken, signingSecret: a.cfg.SigningSecret}
	if err := a.credentials(ctx, in.Settings, ws); err != nil {
		return nil, err
	}
	if ws.botToken == "" {
		return nil, fmt.Errorf("Slack integration %s has no bot token (settings.bot_token naming a sym_secret, or $SYM_SLACK_BOT_TOKEN)", in.Slug)
	}
	ws.api = a.client(ws.botToken)
	return &errorSender{app: a, ws: ws, channel: channel}, nil
}

type errorSender struct {
	app     *App
	ws      *workspace
	channel string
}

// Send posts each record; it stops at the first that Slack refuses, which
// stays queued.
func (s *errorSender) Send(ctx context.Context, recs []logdest.Record) (int, error) {
	for i, r := range recs {
		text := s.app.errorText(ctx, r.Event)
		if _, _, err := s.ws.api.PostMessageContext(ctx, s.channel, slackgo.MsgOptionText(text, true)); err != nil {
			return i, fmt.Errorf("post to Slack channel %s: %w", s.channel, err)
		}
	}
	return len(recs), nil
}

// errorText says what failed, for whom and where to look.
func (a *App) errorText(ctx context.Context, ev model.AuditEvent) string {
	what := map[string]string{string(model.EscalateFailed): "A grant failed", string(model.DeescalateFailed): "Removing access failed"}[ev.Type]
	if what == "" {
		what = "sym reports " + ev.Type
	}
	text := ":rotating_light: " + what
	if req, err := a.cfg.Store.GetRequest(ctx, ev.RequestID); err == nil {
		text += fmt.Sprintf(" for %s on *%s* (flow %s, request %s)", req.Requester, req.Target, req.Flow, req.ID)
	} else if ev.RequestID != "" {
		text += " (request " + ev.RequestID + ")"
	}
	if e := ev.Details["error"]; e != "" {
		text += ": " + e
	}
	if ev.Details["retry_at"] != "" {
		text += " — retried at " + ev.Details["retry_at"]
	}
	if a.cfg.PublicURL != "" && ev.RequestID != "" {
		text += "\n" + strings.TrimRight(a.cfg.PublicURL, "/") + "/requests/" + ev.RequestID
	}
	return text
}
