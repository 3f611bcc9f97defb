package api

import (
	"net/http"
	"strconv"

	"github.com/opensym/sym/internal/engine"
	"github.com/opensym/sym/internal/model"
)

// reconcile runs one reconciler pass now (admin only): POST
// /api/v1/reconcile, with ?dry_run=true to read only and say what it would
// do. The answer is the pass's report.
func (s *Server) reconcile(w http.ResponseWriter, r *http.Request, _ engine.Actor) {
	dry := false
	if v := r.URL.Query().Get("dry_run"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			writeErrors(w, r, http.StatusBadRequest, model.FieldError{Field: "dry_run", Message: "must be true or false"})
			return
		}
		dry = b
	}
	rep, err := s.cfg.Engine.Reconcile(r.Context(), dry)
	if err != nil {
		s.writeErr(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, rep)
}
