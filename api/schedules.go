package api

import (
	"encoding/json"
	"net/http"
	"net/url"

	"loam"
)

// scheduleJSON is a stored schedule as answered.
type scheduleJSON struct {
	Name        string          `json:"name"`
	Spec        string          `json:"spec"`
	Kind        string          `json:"kind"`
	Args        json.RawMessage `json:"args"`
	Timezone    string          `json:"timezone"`
	Missed      string          `json:"missed"`
	Grace       float64         `json:"grace"`
	Queue       string          `json:"queue"`
	Priority    int             `json:"priority"`
	MaxAttempts int             `json:"maxAttempts"`
	Timeout     float64         `json:"timeout"`
	Tags        []string        `json:"tags"`
	Paused      bool            `json:"paused"`
	LastTick    string          `json:"lastTick"`
	NextTick    *string         `json:"nextTick"`
	Created     string          `json:"created"`
	Updated     string          `json:"updated"`
}

func (s *Server) toScheduleJSON(sc *loam.Schedule) *scheduleJSON {
	out := &scheduleJSON{Name: sc.Name, Spec: sc.Spec, Kind: sc.Kind, Args: sc.Args, Timezone: sc.Timezone,
		Missed: sc.Missed, Grace: seconds(sc.Grace), Queue: sc.Queue, Priority: sc.Priority, MaxAttempts: sc.MaxAttempts,
		Timeout: seconds(sc.Timeout), Tags: sc.Tags, Paused: sc.Paused, LastTick: timeText(sc.LastTick),
		NextTick: optTime(s.jobs.NextTick(sc)), Created: timeText(sc.Created), Updated: timeText(sc.Updated)}
	if out.Tags == nil {
		out.Tags = []string{}
	}
	if len(out.Args) == 0 {
		out.Args = json.RawMessage("null")
	}
	if out.Timezone == "" {
		out.Timezone = "UTC"
	}
	return out
}

// scheduleMembers are the members of a schedule a client may send; the
// others (lastTick, nextTick, created, updated) are read-only.
var scheduleMembers = []string{"name", "spec", "kind", "args", "timezone", "missed", "grace", "queue", "priority",
	"maxAttempts", "timeout", "tags", "paused", "lastTick", "nextTick", "created", "updated"}

// readSchedule applies the members of body to sc (a new schedule, or the
// stored one for PATCH) and checks the result: every problem at once.
func (s *Server) readSchedule(body map[string]json.RawMessage, sc *loam.Schedule, create bool) error {
	m := members{body: body}
	m.readOnly("lastTick", "nextTick", "created", "updated")
	if create {
		m.text("name", &sc.Name, true)
		m.text("spec", &sc.Spec, true)
		m.text("kind", &sc.Kind, true)
	} else {
		var name string
		m.text("name", &name, false)
		if name != "" && name != sc.Name {
			m.fe.Add("name", loam.FieldReadOnly, "cannot change: create another schedule")
		}
		m.text("spec", &sc.Spec, false)
		m.text("kind", &sc.Kind, false)
	}
	if raw, ok := body["args"]; ok {
		sc.Args = raw
	}
	m.text("timezone", &sc.Timezone, false)
	m.text("missed", &sc.Missed, false)
	m.seconds("grace", &sc.Grace, 1)
	m.text("queue", &sc.Queue, false)
	m.integer("priority", &sc.Priority, -1<<31, 1<<31-1)
	m.integer("maxAttempts", &sc.MaxAttempts, 0, 10000)
	m.seconds("timeout", &sc.Timeout, 0)
	if _, ok := body["tags"]; ok {
		sc.Tags = nil
		m.texts("tags", &sc.Tags)
	}
	m.boolean("paused", &sc.Paused)
	if err := m.merge(s.jobs.CheckSchedule(sc)); err != nil {
		return err
	}
	return m.done(scheduleMembers...)
}

func (s *Server) listSchedules(w http.ResponseWriter, r *http.Request) {
	if !superuser(w, r, "listing schedules") {
		return
	}
	q, err := parseListQuery(r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	list, err := s.jobs.ListSchedules(r.Context(), q)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	items := make([]*scheduleJSON, len(list.Items))
	for i, sc := range list.Items {
		items[i] = s.toScheduleJSON(sc)
	}
	writeJSON(w, http.StatusOK, newListJSON(items, list.Page, list.PerPage, list.TotalItems, list.NextCursor))
}

func (s *Server) createSchedule(w http.ResponseWriter, r *http.Request) {
	if !superuser(w, r, "creating a schedule") {
		return
	}
	body, err := readObject(r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	sc := &loam.Schedule{}
	if err := s.readSchedule(body, sc, true); err != nil {
		WriteError(w, r, err)
		return
	}
	sc, err = s.jobs.CreateSchedule(r.Context(), sc)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	w.Header().Set("Location", "/api/schedules/"+url.PathEscape(sc.Name))
	writeJSON(w, http.StatusCreated, s.toScheduleJSON(sc))
}

func (s *Server) getSchedule(w http.ResponseWriter, r *http.Request) {
	if !superuser(w, r, "reading a schedule") {
		return
	}
	sc, err := s.jobs.GetSchedule(r.Context(), r.PathValue("id"))
	if err != nil {
		WriteError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.toScheduleJSON(sc))
}

func (s *Server) updateSchedule(w http.ResponseWriter, r *http.Request) {
	if !superuser(w, r, "changing a schedule") {
		return
	}
	body, err := readObject(r)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	sc, err := s.jobs.GetSchedule(r.Context(), r.PathValue("id"))
	if err != nil {
		WriteError(w, r, err)
		return
	}
	if err := s.readSchedule(body, sc, false); err != nil {
		WriteError(w, r, err)
		return
	}
	sc, err = s.jobs.UpdateSchedule(r.Context(), sc)
	if err != nil {
		WriteError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, s.toScheduleJSON(sc))
}

func (s *Server) deleteSchedule(w http.ResponseWriter, r *http.Request) {
	if !superuser(w, r, "deleting a schedule") {
		return
	}
	if err := s.jobs.DeleteSchedule(r.Context(), r.PathValue("id")); err != nil {
		WriteError(w, r, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}
