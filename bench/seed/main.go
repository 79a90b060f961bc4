// Command seed fills a Loam collection for the benchmark: it POSTs n records
// ({"title":"post i","views":i,"published":i%2==0}) through the records API
// from a pool of concurrent clients and writes the ids Loam assigned to a
// file, one a line, for the wrk scripts.
package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:8090", "Loam's base URL")
	coll := flag.String("collection", "posts", "collection to fill")
	n := flag.Int("n", 10000, "records to create")
	workers := flag.Int("c", 32, "concurrent clients")
	token := flag.String("token", "", "bearer token (optional; the bench collection is public)")
	out := flag.String("out", "ids.txt", "file to write the created ids to")
	flag.Parse()

	if err := run(*base, *coll, *n, *workers, *token, *out); err != nil {
		log.Fatalf("seed: %v", err)
	}
}

func run(base, coll string, n, workers int, token, out string) error {
	url := strings.TrimRight(base, "/") + "/api/collections/" + coll + "/records"
	client := &http.Client{
		Timeout: 30 * time.Second,
		Transport: &http.Transport{
			MaxIdleConns:        workers,
			MaxIdleConnsPerHost: workers,
			MaxConnsPerHost:     workers,
		},
	}

	ids := make([]string, n)
	var next atomic.Int64
	var firstErr error
	var once sync.Once
	var failed atomic.Bool
	var wg sync.WaitGroup
	start := time.Now()
	for range workers {
		wg.Go(func() {
			for !failed.Load() {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				id, err := create(client, url, token, i)
				if err != nil {
					once.Do(func() { firstErr = fmt.Errorf("record %d: %w", i, err) })
					failed.Store(true)
					return
				}
				ids[i] = id
			}
		})
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	took := time.Since(start)
	log.Printf("seeded %d records into %s in %s (%.0f/s)", n, coll, took.Round(time.Millisecond), float64(n)/took.Seconds())
	return writeLines(out, ids)
}

func create(client *http.Client, url, token string, i int) (string, error) {
	body, _ := json.Marshal(map[string]any{
		"title":     fmt.Sprintf("post %d", i),
		"views":     i,
		"published": i%2 == 0,
	})
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return "", err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return "", err
	}
	if resp.StatusCode != http.StatusOK && resp.StatusCode != http.StatusCreated {
		return "", fmt.Errorf("status %d: %s", resp.StatusCode, raw)
	}
	var rec struct {
		ID string `json:"id"`
	}
	if err := json.Unmarshal(raw, &rec); err != nil || rec.ID == "" {
		return "", fmt.Errorf("no id in answer %s", raw)
	}
	return rec.ID, nil
}

func writeLines(path string, lines []string) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	w := bufio.NewWriter(f)
	for _, l := range lines {
		w.WriteString(l)
		w.WriteByte('\n')
	}
	if err := w.Flush(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
