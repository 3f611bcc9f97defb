package api

import (
	"net/http"

	"github.com/opensym/sym/internal/engine"
	"github.com/opensym/sym/internal/model"
)

// singleton serves a kind that has at most one entity per organisation at
// /entities/<kind>, without an id (the original's sym_flows_filter): it
// finds the one entity and hands the request to the generic handler h, as
// if the id had been in the path. POST answers 409 when the entity exists.
func (s *Server) singleton(kind string, h func(http.ResponseWriter, *http.Request, engine.Actor)) func(http.ResponseWriter, *http.Request, engine.Actor) {
	return func(w http.ResponseWriter, r *http.Request, a engine.Actor) {
		r.SetPathValue("kind", kind)
		rows, err := s.cfg.Store.FindEntities(r.Context(), kind, "", "")
		if err != nil {
			s.writeErr(w, r, err)
			return
		}
		if r.Method == http.MethodPost {
			if len(rows) > 0 {
				writeErrors(w, r, http.StatusConflict, fieldErr("", "the organisation already has a %s (id %s): change it with PATCH or delete it first", model.Singular(kind), rows[0].ID))
				return
			}
			h(w, r, a)
			return
		}
		if len(rows) == 0 {
			writeErrors(w, r, http.StatusNotFound, fieldErr("", "the organisation has no %s", model.Singular(kind)))
			return
		}
		r.SetPathValue("id", rows[0].ID)
		h(w, r, a)
	}
}
