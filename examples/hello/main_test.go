package main

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"

	"loam/postgres/pgtest"
)

func TestHello(t *testing.T) {
	t.Parallel()
	for _, store := range []string{"sqlite", "postgres"} {
		t.Run(store, func(t *testing.T) {
			t.Parallel()
			db := ""
			if store == "postgres" {
				db = pgtest.URL(t)
			}
			testHello(t, db)
		})
	}
}

func testHello(t *testing.T, db string) {
	ctx, cancel := context.WithCancel(context.Background())
	addrc := make(chan string, 1)
	errc := make(chan error, 1)
	go func() {
		errc <- run(ctx, "127.0.0.1:0", t.TempDir(), db, slog.New(slog.NewTextHandler(io.Discard, nil)), func(a string) { addrc <- a })
	}()
	var base string
	select {
	case a := <-addrc:
		base = "http://" + a
	case err := <-errc:
		t.Fatalf("run: %v", err)
	}
	post := func(body string) (int, map[string]any) {
		t.Helper()
		resp, err := http.Post(base+"/api/collections/notes/records", "application/json", strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var m map[string]any
		if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
			t.Fatal(err)
		}
		return resp.StatusCode, m
	}
	if code, m := post(`{"title":"  quiet note  "}`); code != http.StatusCreated || m["title"] != "quiet note" {
		t.Fatalf("create: %d %v", code, m)
	}
	code, m := post(`{"title":"LOUD"}`)
	if code != http.StatusBadRequest || m["code"] != "validation_failed" {
		t.Fatalf("shouting: %d %v", code, m)
	}
	if e, _ := m["errors"].(map[string]any)["title"].(map[string]any); e["code"] != "shouting" {
		t.Fatalf("shouting: field error %v", m["errors"])
	}
	resp, err := http.Get(base + "/api/hello")
	if err != nil {
		t.Fatal(err)
	}
	var hello struct{ NotesCreated int }
	json.NewDecoder(resp.Body).Decode(&hello)
	resp.Body.Close()
	if hello.NotesCreated != 1 {
		t.Fatalf("notesCreated = %d, want 1 (the rejected note must not count)", hello.NotesCreated)
	}
	resp, err = http.Get(base + "/api/collections/notes/records")
	if err != nil {
		t.Fatal(err)
	}
	var list struct{ TotalItems int }
	json.NewDecoder(resp.Body).Decode(&list)
	resp.Body.Close()
	if list.TotalItems != 1 {
		t.Fatalf("totalItems = %d, want 1", list.TotalItems)
	}
	cancel()
	if err := <-errc; err != nil {
		t.Fatalf("shutdown: %v", err)
	}
}
