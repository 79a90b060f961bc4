// Command floor is the benchmark floor: a bare net/http server that answers
// the same JSON as Loam's records API for a 10 000-record "posts" collection,
// from memory, with no database, no validation and no middleware. Loam's
// figures in bench/RESULTS.md are quoted as a percentage of this server's.
//
// It answers
//
//	GET /api/collections/posts/records/{id}               one record, with an ETag
//	GET /api/collections/posts/records?page=N&perPage=M   a page, in the API.md list shape
//	  ...&filter=views >= N[&sort=views]                 a page of the posts with views >= N, found
//	                                                     by a binary search (sorted by views) or a
//	                                                     scan in id order
//
// and, with -ids FILE, writes the ids it holds (one a line) so that the wrk
// scripts can ask for existing records.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"hash/fnv"
	"log"
	"math/rand/v2"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"time"
)

// post has the shape of a Loam record of the bench collection; the field
// order is the order Loam renders: system fields first, then the schema's.
type post struct {
	ID             string `json:"id"`
	CollectionName string `json:"collectionName"`
	Created        string `json:"created"`
	Updated        string `json:"updated"`
	Title          string `json:"title"`
	Views          int    `json:"views"`
	Published      bool   `json:"published"`
}

// page is the list body of API.md.
type page struct {
	Items      []*post `json:"items"`
	Page       int     `json:"page"`
	PerPage    int     `json:"perPage"`
	TotalItems int     `json:"totalItems"`
	TotalPages int     `json:"totalPages"`
}

type errorBody struct {
	Status  int    `json:"status"`
	Code    string `json:"code"`
	Message string `json:"message"`
}

const idAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// newID makes a Loam-shaped id: 8 base-36 characters of the time in
// milliseconds, then 7 random ones.
func newID(t time.Time, r *rand.Rand) string {
	ts := strconv.FormatInt(t.UnixMilli(), 36)
	for len(ts) < 8 {
		ts = "0" + ts
	}
	b := []byte(ts[len(ts)-8:])
	for range 7 {
		b = append(b, idAlphabet[r.IntN(len(idAlphabet))])
	}
	return string(b)
}

type store struct {
	list []*post // in id order, the API's default order
	byID map[string]*post
}

func newStore(n int) *store {
	r := rand.New(rand.NewPCG(1, 2))
	start := time.Date(2026, 11, 25, 10, 15, 30, 123e6, time.UTC)
	s := &store{list: make([]*post, 0, n), byID: make(map[string]*post, n)}
	for i := range n {
		t := start.Add(time.Duration(i) * time.Millisecond)
		ts := t.Format("2006-01-02T15:04:05.000Z")
		p := &post{
			ID:             newID(t, r),
			CollectionName: "posts",
			Created:        ts,
			Updated:        ts,
			Title:          "post " + strconv.Itoa(i),
			Views:          i,
			Published:      i%2 == 0,
		}
		s.list = append(s.list, p)
		s.byID[p.ID] = p
	}
	return s
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	h := fnv.New64a()
	h.Write(body)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("ETag", `"`+strconv.FormatUint(h.Sum64(), 36)+`"`)
	w.WriteHeader(status)
	w.Write(body)
}

func intParam(r *http.Request, name string, def int) int {
	v, err := strconv.Atoi(r.URL.Query().Get(name))
	if err != nil {
		return def
	}
	return v
}

func (s *store) view(w http.ResponseWriter, r *http.Request) {
	p, ok := s.byID[r.PathValue("id")]
	if !ok {
		writeJSON(w, http.StatusNotFound, errorBody{404, "not_found", "The record does not exist."})
		return
	}
	writeJSON(w, http.StatusOK, p)
}

func (s *store) listPage(w http.ResponseWriter, r *http.Request) {
	pg := max(intParam(r, "page", 1), 1)
	per := intParam(r, "perPage", 30)
	if per < 1 {
		per = 30
	}
	per = min(per, 500)
	skip := r.URL.Query().Get("skipTotal")
	count := skip != "1" && skip != "true"
	out := page{Page: pg, PerPage: per, TotalItems: -1, TotalPages: -1}
	if f := r.URL.Query().Get("filter"); f != "" {
		n, ok := strings.CutPrefix(f, "views >= ")
		atLeast, err := strconv.Atoi(n)
		if !ok || err != nil {
			writeJSON(w, http.StatusBadRequest, errorBody{400, "invalid_filter", "the floor knows views >= N only"})
			return
		}
		if r.URL.Query().Get("sort") == "views" {
			// The list is in views order: a binary search finds the first
			// match, as an index on views would.
			first := sort.Search(len(s.list), func(i int) bool { return s.list[i].Views >= atLeast })
			from := min(first+(pg-1)*per, len(s.list))
			out.Items = s.list[from:min(from+per, len(s.list))]
			if count {
				total := len(s.list) - first
				out.TotalItems, out.TotalPages = total, (total+per-1)/per
			}
			writeJSON(w, http.StatusOK, out)
			return
		}
		// A scan in id order, as a database reading its primary key would do.
		from, total := (pg-1)*per, 0
		out.Items = make([]*post, 0, per)
		for _, p := range s.list {
			if p.Views < atLeast {
				continue
			}
			if total >= from && len(out.Items) < per {
				out.Items = append(out.Items, p)
			}
			total++
			if !count && len(out.Items) == per {
				break
			}
		}
		if count {
			out.TotalItems, out.TotalPages = total, (total+per-1)/per
		}
		writeJSON(w, http.StatusOK, out)
		return
	}
	from := min((pg-1)*per, len(s.list))
	to := min(from+per, len(s.list))
	out.Items = s.list[from:to]
	if count {
		out.TotalItems = len(s.list)
		out.TotalPages = (len(s.list) + per - 1) / per
	}
	writeJSON(w, http.StatusOK, out)
}

func writeIDs(path string, s *store) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for _, p := range s.list {
		w.WriteString(p.ID)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func main() {
	addr := flag.String("addr", "127.0.0.1:8099", "listen address")
	n := flag.Int("n", 10000, "number of records held in memory")
	ids := flag.String("ids", "", "write the record ids to this file, one a line")
	flag.Parse()

	s := newStore(*n)
	if *ids != "" {
		if err := writeIDs(*ids, s); err != nil {
			log.Fatalf("write ids: %v", err)
		}
	}

	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/collections/posts/records/{id}", s.view)
	mux.HandleFunc("GET /api/collections/posts/records", s.listPage)
	mux.HandleFunc("GET /api/health", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})

	srv := &http.Server{
		Addr:              *addr,
		Handler:           mux,
		ReadHeaderTimeout: 10 * time.Second,
	}
	log.Printf("floor: %d records, listening on http://%s", len(s.list), strings.TrimPrefix(*addr, "http://"))
	log.Fatal(srv.ListenAndServe())
}
