package api

import (
	"hash/fnv"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"loam"
	"loam/expr"
)

func (s *Server) collectionFor(w http.ResponseWriter, r *http.Request) *loam.Collection {
	c, err := s.app.LiveCollection(r.Context(), r.PathValue("name"))
	if err != nil {
		WriteError(w, r, err)
		return nil
	}
	return c
}

// objectFor resolves the route's collection and reads the JSON object body.
// When either fails it has answered, and ok is false.
func (s *Server) objectFor(w http.ResponseWriter, r *http.Request) (c *loam.Collection, body loam.Body, ok bool) {
	if c = s.collectionFor(w, r); c == nil {
		return nil, nil, false
	}
	body, err := readObject(r)
	if err != nil {
		WriteError(w, r, err)
		return nil, nil, false
	}
	if !knowsAll(c, body) {
		// A field another instance just added: look at the schema again
		// rather than refuse it until the next poll.
		if _, err := s.app.RefreshSchema(r.Context()); err == nil {
			if c = s.collectionFor(w, r); c == nil {
				return nil, nil, false
			}
		}
	}
	return c, body, true
}

// bodyExtras are members of a record body that are not fields.
var bodyExtras = map[string]bool{"id": true, "created": true, "updated": true, "collectionName": true,
	"passwordConfirm": true, "oldPassword": true, "expand": true}

// knowsAll reports whether every member of body is a field of c (or a
// member every body may have).
func knowsAll(c *loam.Collection, body loam.Body) bool {
	for k := range body {
		if !bodyExtras[k] && c.Field(k) == nil {
			return false
		}
	}
	return true
}

// writeRecord answers one record with its ETag, shaped by opts (nil: whole).
func writeRecord(w http.ResponseWriter, r *http.Request, status int, c *loam.Collection, rec *loam.Record, opts *loam.ReadOptions) {
	w.Header().Set("ETag", rec.ETag())
	writeBody(w, status, appendShaped(make([]byte, 0, 256), c, rec, PrincipalFrom(r).IsSuperuser(), opts))
}

// readOptions parses the expand and fields parameters of a request on c
// whose own action has rule; nil when it has neither.
func (s *Server) readOptions(r *http.Request, c *loam.Collection, rule *string) (*loam.ReadOptions, error) {
	if r.URL.RawQuery == "" {
		return nil, nil
	}
	v := r.URL.Query()
	return s.app.ParseReadOptions(PrincipalFrom(r), c, rule, strings.Join(v["expand"], ","), strings.Join(v["fields"], ","))
}

// expand fills in the relations opts expands for recs.
func (s *Server) expand(r *http.Request, opts *loam.ReadOptions, recs []*loam.Record) error {
	if opts == nil || len(opts.Expand) == 0 {
		return nil
	}
	return s.app.ExpandRecords(r.Context(), PrincipalFrom(r), recs, opts.Expand)
}

// expandWritten expands the relations of a record just written. The write
// is committed whatever happens here, so a failure is logged and the record
// is answered without its expansions rather than with an error.
func (s *Server) expandWritten(r *http.Request, opts *loam.ReadOptions, rec *loam.Record) {
	if err := s.expand(r, opts, []*loam.Record{rec}); err != nil {
		logger(r).Warn("expanding a written record failed", "err", err)
		rec.Expand = nil
	}
}

func (s *Server) getRecord(w http.ResponseWriter, r *http.Request) {
	c := s.collectionFor(w, r)
	if c == nil {
		return
	}
	opts, err := s.readOptions(r, c, c.Rules.View)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	rec, err := s.app.GetRecord(r.Context(), PrincipalFrom(r), c.Name, r.PathValue("id"))
	if err != nil {
		WriteError(w, r, err)
		return
	}
	// The ETag is the record's version; expanded records change on their
	// own, so an answer that holds them is always sent whole.
	if inm := r.Header.Get("If-None-Match"); inm != "" && inm == rec.ETag() && (opts == nil || len(opts.Expand) == 0) {
		w.Header().Set("ETag", rec.ETag())
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if err := s.expand(r, opts, []*loam.Record{rec}); err != nil {
		WriteError(w, r, err)
		return
	}
	writeRecord(w, r, http.StatusOK, c, rec, opts)
}

func (s *Server) createRecord(w http.ResponseWriter, r *http.Request) {
	c, body, ok := s.objectFor(w, r)
	if !ok {
		return
	}
	opts, err := s.readOptions(r, c, c.Rules.Create)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	rec, err := s.app.CreateRecord(r.Context(), PrincipalFrom(r), c.Name, body)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	s.expandWritten(r, opts, rec)
	w.Header().Set("Location", "/api/collections/"+c.Name+"/records/"+rec.ID)
	writeRecord(w, r, http.StatusCreated, c, rec, opts) // rendered with the schema the request was checked against
}

func (s *Server) updateRecord(w http.ResponseWriter, r *http.Request) {
	c, body, ok := s.objectFor(w, r)
	if !ok {
		return
	}
	opts, err := s.readOptions(r, c, c.Rules.Update)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	rec, err := s.app.UpdateRecord(r.Context(), PrincipalFrom(r), c.Name, r.PathValue("id"), body, r.Header.Get("If-Match"))
	if err != nil {
		WriteError(w, r, err)
		return
	}
	s.expandWritten(r, opts, rec)
	writeRecord(w, r, http.StatusOK, c, rec, opts)
}

func (s *Server) deleteRecord(w http.ResponseWriter, r *http.Request) {
	err := s.app.DeleteRecord(r.Context(), PrincipalFrom(r), r.PathValue("name"), r.PathValue("id"), r.Header.Get("If-Match"))
	if err != nil {
		WriteError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// unsupportedParams are list parameters of API.md that later work adds; until
// then they are refused rather than silently ignored.
var unsupportedParams []string

func (s *Server) listRecords(w http.ResponseWriter, r *http.Request) {
	c := s.collectionFor(w, r)
	if c == nil {
		return
	}
	q, err := parseListQuery(r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	opts, err := s.readOptions(r, c, c.Rules.List)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	list, err := s.app.ListRecords(r.Context(), PrincipalFrom(r), c.Name, q)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	if err := s.expand(r, opts, list.Items); err != nil {
		WriteError(w, r, err)
		return
	}
	super := PrincipalFrom(r).IsSuperuser()
	b := make([]byte, 0, 128+len(list.Items)*256)
	b = append(b, `{"items":[`...)
	for i, rec := range list.Items {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendShaped(b, c, rec, super, opts)
	}
	b = append(b, `],"page":`...)
	b = strconv.AppendInt(b, int64(list.Page), 10)
	b = append(b, `,"perPage":`...)
	b = strconv.AppendInt(b, int64(list.PerPage), 10)
	b = append(b, `,"totalItems":`...)
	b = strconv.AppendInt(b, list.TotalItems, 10)
	b = append(b, `,"totalPages":`...)
	pages := int64(-1)
	if list.TotalItems >= 0 {
		pages = (list.TotalItems + int64(list.PerPage) - 1) / int64(list.PerPage)
	}
	b = strconv.AppendInt(b, pages, 10)
	if list.NextCursor != "" {
		b = append(b, `,"nextCursor":`...)
		b = appendString(b, list.NextCursor)
	}
	b = append(b, '}')
	// A list's ETag is a hash of the page as sent: it changes when any of it does.
	h := fnv.New64a()
	h.Write(b)
	etag := `"l` + strconv.FormatUint(h.Sum64(), 36) + `"`
	w.Header().Set("ETag", etag)
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	writeBody(w, http.StatusOK, b)
}

// MaxPerPage is the largest page; larger perPage values are clamped to it.
const MaxPerPage = 500

func parseListQuery(r *http.Request) (loam.ListQuery, error) {
	v := r.URL.Query()
	q := loam.ListQuery{Page: 1, PerPage: 30}
	for _, p := range unsupportedParams {
		if v.Has(p) {
			return q, loam.Errorf(loam.CodeInvalidQuery, "the %q parameter is not supported yet", p)
		}
	}
	q.Query = firstValues(v)
	q.Filter = v.Get("filter")
	if len(q.Filter) > expr.MaxLength {
		return q, loam.Errorf(loam.CodeInvalidFilter, "filter: longer than %d bytes", expr.MaxLength)
	}
	q.Cursor = v.Get("cursor")
	if v.Has("cursor") && v.Has("page") {
		return q, loam.Errorf(loam.CodeInvalidQuery, "cursor cannot be combined with page")
	}
	if v.Has("cursor") && q.Cursor == "" {
		return q, loam.Errorf(loam.CodeInvalidQuery, "cursor is empty: send the nextCursor of a page")
	}
	if s := v.Get("page"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1_000_000 {
			return q, loam.Errorf(loam.CodeInvalidQuery, "page must be a whole number from 1")
		}
		q.Page = n
	}
	if s := v.Get("perPage"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			if err != nil && len(s) > 0 && allDigits(s) {
				n = MaxPerPage // a huge number is clamped like any large one
			} else {
				return q, loam.Errorf(loam.CodeInvalidQuery, "perPage must be a whole number from 1")
			}
		}
		q.PerPage = min(n, MaxPerPage)
	}
	switch s := v.Get("skipTotal"); s {
	case "", "0", "false":
	case "1", "true":
		q.SkipTotal = true
	default:
		return q, loam.Errorf(loam.CodeInvalidQuery, "skipTotal must be 1 or 0")
	}
	if s := v.Get("sort"); s != "" {
		for _, part := range strings.Split(s, ",") {
			part = strings.TrimSpace(part)
			k := loam.SortKey{Field: part}
			if rest, ok := strings.CutPrefix(part, "-"); ok {
				k = loam.SortKey{Field: rest, Desc: true}
			} else if rest, ok := strings.CutPrefix(part, "+"); ok {
				k.Field = rest
			}
			if k.Field == "" || len(k.Field) > 8*loam.MaxNameLength {
				return q, loam.Errorf(loam.CodeInvalidSort, "sort must be a comma-separated list of fields, each optionally prefixed with -")
			}
			q.Sort = append(q.Sort, k)
		}
		if len(q.Sort) > 8 {
			return q, loam.Errorf(loam.CodeInvalidSort, "at most 8 sort keys")
		}
	}
	return q, nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// firstValues returns the first value of each query parameter, for the
// @request.query.* names of filters and rules.
func firstValues(v url.Values) map[string]string {
	m := make(map[string]string, len(v))
	for k, vs := range v {
		if len(vs) > 0 {
			m[k] = vs[0]
		}
	}
	return m
}
