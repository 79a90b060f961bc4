package api

import (
	"net/http"

	"loam"
)

func (s *Server) listCollections(w http.ResponseWriter, r *http.Request) {
	cols, err := s.app.Collections(PrincipalFrom(r))
	if err != nil {
		WriteError(w, r, err)
		return
	}
	if cols == nil {
		cols = []*loam.Collection{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"items": cols})
}

func (s *Server) getCollection(w http.ResponseWriter, r *http.Request) {
	c, err := s.app.Collection(PrincipalFrom(r), r.PathValue("name"))
	if err != nil {
		WriteError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) createCollection(w http.ResponseWriter, r *http.Request) {
	who := PrincipalFrom(r)
	if _, err := s.app.Collections(who); err != nil { // superusers only, checked before the body is read
		WriteError(w, r, err)
		return
	}
	b, err := readJSON(r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	c, err := loam.DecodeCollection(b)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	c, err = s.app.CreateCollection(r.Context(), who, c)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	writeJSON(w, http.StatusCreated, c)
}

func (s *Server) updateCollection(w http.ResponseWriter, r *http.Request) {
	who := PrincipalFrom(r)
	if _, err := s.app.Collection(who, r.PathValue("name")); err != nil {
		WriteError(w, r, err)
		return
	}
	b, err := readJSON(r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	c, err := s.app.UpdateCollection(r.Context(), who, r.PathValue("name"), b)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, c)
}

func (s *Server) deleteCollection(w http.ResponseWriter, r *http.Request) {
	if err := s.app.DeleteCollection(r.Context(), PrincipalFrom(r), r.PathValue("name")); err != nil {
		WriteError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
