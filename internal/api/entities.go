package api

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"

	"github.com/opensym/sym/internal/authz"
	"github.com/opensym/sym/internal/engine"
	"github.com/opensym/sym/internal/model"
	"github.com/opensym/sym/internal/store"
)

func (s *Server) kind(w http.ResponseWriter, r *http.Request) (*model.Kind, bool) {
	k := model.Kinds[r.PathValue("kind")]
	if k == nil {
		var names []string
		for n := range model.Kinds {
			names = append(names, n)
		}
		slices.Sort(names)
		writeErrors(w, r, 404, fieldErr("", "unknown entity kind %q (one of %s)", r.PathValue("kind"), strings.Join(names, ", ")))
		return nil, false
	}
	return k, true
}

// present renders an entity for the wire: every field, with its id.
func present(k *model.Kind, row *store.EntityRow) map[string]any {
	fields, _ := k.Normalize(row.Body, false)
	out := map[string]any{"id": row.ID}
	for _, f := range k.Fields {
		out[f.Name] = fields[f.Name]
	}
	return out
}

// requestable kinds are what members may list and read, by name and label.
var requestable = map[string]bool{"flows": true, "access-targets": true}

// mayRead checks the caller may read entities of kind k and says whether
// they see every field (admins, auditors, automation) or only the names
// and labels of what can be requested (members).
func (s *Server) mayRead(w http.ResponseWriter, r *http.Request, k *model.Kind, a engine.Actor) (full, ok bool) {
	if authz.Allowed(authz.ReadEntities, a.Caller(), authz.Resource{}) {
		return true, true
	}
	action := authz.ReadEntities
	if requestable[k.Name] {
		action = authz.ListRequestable
	}
	return false, s.allowed(w, r, action, a, authz.Resource{})
}

// presentFor renders an entity for a caller: everything, or for a member
// the names and labels of a flow or target (a flow's prompt fields too, so
// that a request form can be drawn).
func presentFor(k *model.Kind, row *store.EntityRow, full bool) map[string]any {
	all := present(k, row)
	if full {
		return all
	}
	out := map[string]any{"id": all["id"], "slug": all["slug"], "label": all["label"]}
	switch k.Name {
	case "access-targets":
		out["type"] = all["type"]
	case "flows":
		params, _ := all["params"].(map[string]any)
		if pf, ok := params["prompt_fields"]; ok {
			out["params"] = map[string]any{"prompt_fields": pf}
		}
	}
	return out
}

func (s *Server) listEntities(w http.ResponseWriter, r *http.Request, a engine.Actor) {
	k, ok := s.kind(w, r)
	if !ok {
		return
	}
	full, ok := s.mayRead(w, r, k, a)
	if !ok {
		return
	}
	q := r.URL.Query()
	rows, err := s.cfg.Store.FindEntities(r.Context(), k.Name, q.Get("slug"), q.Get("type"))
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	out := []map[string]any{}
	for i := range rows {
		out = append(out, presentFor(k, &rows[i], full))
	}
	writeJSON(w, 200, out)
}

func (s *Server) getEntity(w http.ResponseWriter, r *http.Request, a engine.Actor) {
	k, ok := s.kind(w, r)
	if !ok {
		return
	}
	full, ok := s.mayRead(w, r, k, a)
	if !ok {
		return
	}
	row, err := s.cfg.Store.GetEntity(r.Context(), k.Name, r.PathValue("id"))
	if store.IsNotFound(err) {
		writeErrors(w, r, 404, fieldErr("", "no %s with id %s", k.Name, r.PathValue("id")))
		return
	} else if err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, 200, presentFor(k, row, full))
}

func readObject(w http.ResponseWriter, r *http.Request) (map[string]any, bool) {
	var raw map[string]any
	if !decode(w, r, &raw) {
		return nil, false
	}
	if raw == nil {
		writeErrors(w, r, 400, fieldErr("", "the body must be a JSON object"))
		return nil, false
	}
	return raw, true
}

func (s *Server) createEntity(w http.ResponseWriter, r *http.Request, a engine.Actor) {
	k, ok := s.kind(w, r)
	if !ok {
		return
	}
	raw, ok := readObject(w, r)
	if !ok {
		return
	}
	fields, errs := k.Normalize(raw, false)
	if len(errs) == 0 {
		errs = append(k.ValidateTyped(fields), s.validateRefs(r.Context(), k, "", fields)...)
		errs = append(errs, s.guardErrs(r.Context(), k, "", fields)...)
	}
	if len(errs) > 0 {
		writeErrors(w, r, 400, errs...)
		return
	}
	ev := auditEvent(a, "entity.create", map[string]string{"kind": k.Name, "slug": slugOf(k, fields),
		"fields": strings.Join(changedFields(nil, roundTrip(fields)), ",")})
	id, err := s.cfg.Store.CreateEntity(r.Context(), k, fields, ev)
	if err == store.ErrConflict {
		writeErrors(w, r, 409, fieldErr(k.Slug, "%s %q already exists", model.Singular(k.Name), fields[k.Slug]))
		return
	} else if err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, 201, present(k, &store.EntityRow{ID: id, Kind: k.Name, Body: roundTrip(fields)}))
}

// roundTrip gives fields the shape they have after a trip through JSON.
func roundTrip(fields map[string]any) map[string]any {
	b, _ := json.Marshal(fields)
	var out map[string]any
	_ = json.Unmarshal(b, &out)
	return out
}

func (s *Server) updateEntity(w http.ResponseWriter, r *http.Request, a engine.Actor) {
	k, ok := s.kind(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	row, err := s.cfg.Store.GetEntity(r.Context(), k.Name, id)
	if store.IsNotFound(err) {
		writeErrors(w, r, 404, fieldErr("", "no %s with id %s", k.Name, id))
		return
	} else if err != nil {
		s.writeErr(w, r, err)
		return
	}
	raw, ok := readObject(w, r)
	if !ok {
		return
	}
	patch, errs := k.Normalize(raw, true)
	if len(errs) > 0 {
		writeErrors(w, r, 400, errs...)
		return
	}
	old, _ := k.Normalize(roundTrip(row.Body), false)
	before := roundTrip(old)
	merged := row.Body
	for key, v := range patch {
		merged[key] = v
	}
	fields, errs := k.Normalize(roundTrip(merged), false)
	if len(errs) == 0 {
		errs = append(k.ValidateTyped(fields), s.validateRefs(r.Context(), k, id, fields)...)
		errs = append(errs, s.guardErrs(r.Context(), k, id, fields)...)
	}
	if len(errs) > 0 {
		writeErrors(w, r, 400, errs...)
		return
	}
	ev := auditEvent(a, "entity.update", map[string]string{"kind": k.Name, "entity_id": id, "slug": slugOf(k, fields),
		"changed": strings.Join(changedFields(before, roundTrip(fields)), ",")})
	if err := s.cfg.Store.UpdateEntity(r.Context(), k, id, fields, ev); err == store.ErrConflict {
		writeErrors(w, r, 409, fieldErr(k.Slug, "%s %q already exists", model.Singular(k.Name), fields[k.Slug]))
		return
	} else if err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, 200, present(k, &store.EntityRow{ID: id, Kind: k.Name, Body: roundTrip(fields)}))
}

func (s *Server) deleteEntity(w http.ResponseWriter, r *http.Request, a engine.Actor) {
	k, ok := s.kind(w, r)
	if !ok {
		return
	}
	id := r.PathValue("id")
	row, err := s.cfg.Store.GetEntity(r.Context(), k.Name, id)
	if store.IsNotFound(err) {
		writeErrors(w, r, 404, fieldErr("", "no %s with id %s", k.Name, id))
		return
	} else if err != nil {
		s.writeErr(w, r, err)
		return
	}
	deletedSlug := slugOf(k, row.Body)
	users, err := s.referrers(r.Context(), id)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	if len(users) > 0 {
		writeErrors(w, r, 409, fieldErr("", "cannot delete: still referenced by %s", strings.Join(users, ", ")))
		return
	}
	// Pending requests that need the entity are withdrawn (they could never
	// be granted); requests holding access block the deletion.
	name, _ := row.Body[k.Slug].(string)
	if _, err := s.cfg.Engine.Release(r.Context(), a, id,
		fmt.Sprintf("%s %s was deleted", model.Singular(k.Name), name)); err != nil {
		s.writeErr(w, r, err)
		return
	}
	if err := s.cfg.Store.DeleteEntity(r.Context(), k.Name, id, auditEvent(a, "entity.delete", map[string]string{"kind": k.Name, "entity_id": id, "slug": deletedSlug})); err != nil {
		s.writeErr(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// refsOf lists (field, kind, id) for every reference an entity holds.
func refsOf(k *model.Kind, fields map[string]any) [][3]string {
	var out [][3]string
	for _, f := range k.Fields {
		if f.Ref == "" {
			continue
		}
		switch v := fields[f.Name].(type) {
		case string:
			if v != "" && v != model.NullRef {
				out = append(out, [3]string{f.Name, f.Ref, v})
			}
		case []string:
			for _, id := range v {
				out = append(out, [3]string{f.Name, f.Ref, id})
			}
		case []any:
			for _, e := range v {
				if id, ok := e.(string); ok {
					out = append(out, [3]string{f.Name, f.Ref, id})
				}
			}
		}
	}
	switch k.Name {
	case "flows":
		params, _ := fields["params"].(map[string]any)
		if sid, _ := params["strategy_id"].(string); sid != "" && sid != model.NullRef {
			out = append(out, [3]string{"params.strategy_id", "access-strategies", sid})
		}
	case "secret-sources":
		if cid := settingsOf(fields)["context_id"]; cid != "" {
			out = append(out, [3]string{"settings.context_id", "integrations", cid})
		}
	case "log-destinations", "integrations":
		// An http destination's (or integration's) Authorization header
		// comes from a sym_secret.
		if sid := settingsOf(fields)["secret_id"]; sid != "" {
			out = append(out, [3]string{"settings.secret_id", "secrets", sid})
		}
	}
	return out
}

func settingsOf(fields map[string]any) map[string]string {
	switch m := fields["settings"].(type) {
	case map[string]string:
		return m
	case map[string]any:
		out := map[string]string{}
		for k, v := range m {
			if s, ok := v.(string); ok {
				out[k] = s
			}
		}
		return out
	}
	return map[string]string{}
}

// validateRefs checks that every referenced entity exists and fits.
func (s *Server) validateRefs(ctx context.Context, k *model.Kind, selfID string, fields map[string]any) []model.FieldError {
	var errs []model.FieldError
	for _, ref := range refsOf(k, fields) {
		row, err := s.cfg.Store.GetEntity(ctx, ref[1], ref[2])
		if err != nil {
			errs = append(errs, fieldErr(ref[0], "no %s with id %s", model.Singular(ref[1]), ref[2]))
			continue
		}
		rowFields, _ := model.Kinds[ref[1]].Normalize(row.Body, false)
		switch {
		case k.Name == "access-strategies" && ref[0] == "targets":
			want := model.StrategyTargetTypes[fields["type"].(string)]
			if got, _ := rowFields["type"].(string); len(want) > 0 && !slices.Contains(want, got) {
				errs = append(errs, fieldErr("targets", "target %s is of type %s; a %s strategy takes %s targets", rowFields["slug"], got, fields["type"], strings.Join(want, " or ")))
			}
		case k.Name == "runtimes" && ref[0] == "context_id":
			errs = append(errs, runtimeContextErrors(rowFields)...)
		}
	}
	// An integration that is some runtime's context must keep its External ID.
	if k.Name == "integrations" && selfID != "" {
		rts, _ := s.cfg.Store.FindEntities(ctx, "runtimes", "", "")
		for _, rt := range rts {
			if cid, _ := rt.Body["context_id"].(string); cid == selfID {
				errs = append(errs, runtimeContextErrors(fields)...)
				break
			}
		}
	}
	return errs
}

func runtimeContextErrors(ctxFields map[string]any) []model.FieldError {
	if t, _ := ctxFields["type"].(string); t != "permission_context" {
		return []model.FieldError{fieldErr("context_id", "a runtime's context must be a permission_context integration, not %s", t)}
	}
	if strings.TrimSpace(settingsOf(ctxFields)["external_id"]) == "" {
		return []model.FieldError{fieldErr("context_id", "the runtime's permission context has no settings.external_id: the runtime connector role is assumed only with its External ID")}
	}
	return nil
}

// referrers names the entities that point at id.
func (s *Server) referrers(ctx context.Context, id string) ([]string, error) {
	all, err := s.cfg.Store.AllEntities(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, row := range all {
		k := model.Kinds[row.Kind]
		if k == nil {
			continue
		}
		fields, _ := k.Normalize(row.Body, false)
		for _, ref := range refsOf(k, fields) {
			if ref[2] == id {
				name, _ := fields[k.Slug].(string)
				if name == "" {
					name = row.ID
				}
				out = append(out, fmt.Sprintf("%s %s (%s)", model.Singular(row.Kind), name, ref[0]))
				break
			}
		}
	}
	return out, nil
}

// slugOf is an entity's name for the audit log ("" for kinds without one).
func slugOf(k *model.Kind, fields map[string]any) string {
	if k.Slug == "" {
		return ""
	}
	v, _ := fields[k.Slug].(string)
	return v
}

// guardErrs applies the server's guard rails (awsauth.Guards) to an
// entity's settings: a write they refuse answers 400 naming the flag. A
// runtime's permission context (written through the runtime, or an
// integration a runtime points at) must also name an allowed runtime role.
func (s *Server) guardErrs(ctx context.Context, k *model.Kind, id string, fields map[string]any) []model.FieldError {
	settingsOf := func(body map[string]any) map[string]string {
		out := map[string]string{}
		if m, ok := roundTrip(body)["settings"].(map[string]any); ok {
			for k, v := range m {
				if str, ok := v.(string); ok {
					out[k] = str
				}
			}
		}
		return out
	}
	refused := func(field string, err error) []model.FieldError {
		return []model.FieldError{fieldErr(field, "%s", strings.TrimPrefix(err.Error(), "guard rail: "))}
	}
	settings := settingsOf(fields)
	if err := s.cfg.Guards.CheckSettings(settings); err != nil {
		return refused("settings", err)
	}
	switch k.Name {
	case "runtimes":
		ctxID, _ := fields["context_id"].(string)
		row, err := s.cfg.Store.GetEntity(ctx, "integrations", ctxID)
		if err != nil {
			return nil // validateRefs says so
		}
		if arn := settingsOf(row.Body)["role_arn"]; arn != "" {
			if err := s.cfg.Guards.CheckRuntimeRole(arn); err != nil {
				return refused("context_id", err)
			}
		}
	case "integrations":
		if id == "" || settings["role_arn"] == "" {
			return nil
		}
		refs, err := s.referrers(ctx, id)
		if err != nil {
			return nil
		}
		for _, ref := range refs {
			if strings.HasPrefix(ref, model.Singular("runtimes")+" ") {
				if err := s.cfg.Guards.CheckRuntimeRole(settings["role_arn"]); err != nil {
					return refused("settings", err)
				}
				break
			}
		}
	}
	return nil
}
