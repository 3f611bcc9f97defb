package api

import (
	"encoding/json"
	"slices"
	"strings"

	"github.com/opensym/sym/internal/engine"
	"github.com/opensym/sym/internal/model"
)

// Audit events of the writes the API makes itself (entities, users,
// tokens). The store writes each in the transaction of its change, so a
// change without its audit row cannot happen. Details carry names, never
// values: which fields changed, not what they hold, so no secret or
// External ID reaches the log.

func auditEvent(a engine.Actor, typ string, details map[string]string) *model.AuditEvent {
	if details == nil {
		details = map[string]string{}
	}
	return &model.AuditEvent{Type: typ, Actor: strings.ToLower(a.Email), Details: details}
}

// changedFields names the fields that differ between two versions of an
// entity; inside maps (settings, vars, integrations, params) it names the
// keys, as "settings.role_arn".
func changedFields(before, after map[string]any) []string {
	var out []string
	keys := map[string]bool{}
	for k := range before {
		keys[k] = true
	}
	for k := range after {
		keys[k] = true
	}
	for k := range keys {
		if k == "id" {
			continue
		}
		b, a := before[k], after[k]
		bm, bok := b.(map[string]any)
		am, aok := a.(map[string]any)
		if bok || aok {
			for _, sub := range changedFields(bm, am) {
				out = append(out, k+"."+sub)
			}
			continue
		}
		if !sameJSON(b, a) {
			out = append(out, k)
		}
	}
	slices.Sort(out)
	return out
}

func sameJSON(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func identityKeys(ids map[string]string) string {
	var ks []string
	for k := range ids {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return strings.Join(ks, ",")
}
