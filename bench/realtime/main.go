// Command realtime measures realtime delivery against a running loam serve:
// it signs a superuser in, creates a collection, opens n SSE subscribers
// to it (GET /api/realtime), writes records from a few clients (each title
// holds the time it was sent), and reports the events delivered per second
// across all subscribers and the p50/p99 time from the write's start to
// each delivery.
//
//	ulimit -n 8192
//	go run ./bench/realtime -url http://127.0.0.1:8090 -email root@example.com -password '...' -n 1000 -writes 200
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	base := flag.String("url", "http://127.0.0.1:8090", "Loam's base URL")
	email := flag.String("email", "root@example.com", "superuser email")
	password := flag.String("password", "", "superuser password")
	n := flag.Int("n", 1000, "subscribers")
	writes := flag.Int("writes", 200, "records to write")
	writers := flag.Int("c", 4, "concurrent writers")
	coll := flag.String("collection", "rtbench", "collection to create and write")
	flag.Parse()
	if err := run(*base, *email, *password, *coll, *n, *writes, *writers); err != nil {
		log.Fatal(err)
	}
}

func run(base, email, password, coll string, n, writes, writers int) error {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: writers * 2, MaxConnsPerHost: 0}}
	token, err := signIn(client, base, email, password)
	if err != nil {
		return err
	}
	def := `{"name":"` + coll + `","fields":[{"name":"title","type":"text"}],"rules":{"list":"","view":"","create":"","update":"","delete":""}}`
	if code, body, err := call(client, "POST", base+"/api/collections", token, def); err != nil || (code != 201 && code != 409) {
		return fmt.Errorf("create collection: %d %s %v", code, body, err)
	}

	// Subscribers: each its own connection, waiting for "ready".
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var (
		mu        sync.Mutex
		latencies []time.Duration
		received  atomic.Int64
		lastAt    atomic.Int64
	)
	want := int64(n) * int64(writes)
	allIn := make(chan struct{})
	ready := make(chan error, n)
	var subs sync.WaitGroup
	for i := 0; i < n; i++ {
		subs.Add(1)
		go func() {
			defer subs.Done()
			req, _ := http.NewRequestWithContext(ctx, "GET", base+"/api/realtime?subscribe="+coll, nil)
			req.Header.Set("Authorization", "Bearer "+token)
			tr := &http.Transport{DisableKeepAlives: true}
			resp, err := (&http.Client{Transport: tr}).Do(req)
			if err != nil {
				ready <- err
				return
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 {
				b, _ := io.ReadAll(resp.Body)
				ready <- fmt.Errorf("subscribe: %d %s", resp.StatusCode, b)
				return
			}
			sc := bufio.NewScanner(resp.Body)
			sc.Buffer(make([]byte, 64<<10), 1<<20)
			var local []time.Duration
			for sc.Scan() {
				line := sc.Text()
				if line == "event: ready" {
					ready <- nil
					continue
				}
				data, ok := strings.CutPrefix(line, "data: ")
				if !ok || !strings.HasPrefix(data, `{"action"`) {
					continue
				}
				now := time.Now()
				var ev struct {
					Record struct {
						Title string `json:"title"`
					} `json:"record"`
				}
				if json.Unmarshal([]byte(data), &ev) != nil {
					continue
				}
				sent, err := strconv.ParseInt(ev.Record.Title, 10, 64)
				if err != nil {
					continue
				}
				local = append(local, now.Sub(time.Unix(0, sent)))
				lastAt.Store(now.UnixNano())
				if received.Add(1) == want {
					close(allIn)
				}
				if len(local) == writes {
					break
				}
			}
			mu.Lock()
			latencies = append(latencies, local...)
			mu.Unlock()
		}()
	}
	for i := 0; i < n; i++ {
		if err := <-ready; err != nil {
			return fmt.Errorf("subscriber %d: %w", i, err)
		}
	}
	fmt.Fprintf(os.Stderr, "%d subscribers ready; writing %d records\n", n, writes)

	start := time.Now()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(writes) {
				body := `{"title":"` + strconv.FormatInt(time.Now().UnixNano(), 10) + `"}`
				code, b, err := call(client, "POST", base+"/api/collections/"+coll+"/records", token, body)
				if err != nil || code != 201 {
					errs <- fmt.Errorf("write: %d %s %v", code, b, err)
					return
				}
			}
		}()
	}
	wg.Wait()
	writeTime := time.Since(start)
	select {
	case err := <-errs:
		return err
	default:
	}
	select {
	case <-allIn:
	case <-time.After(60 * time.Second):
		fmt.Fprintf(os.Stderr, "timed out: %d of %d events delivered\n", received.Load(), want)
	}
	cancel()
	subs.Wait()
	elapsed := time.Unix(0, lastAt.Load()).Sub(start)
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(latencies)
	pct := func(p float64) time.Duration {
		if len(latencies) == 0 {
			return 0
		}
		return latencies[min(len(latencies)-1, int(p*float64(len(latencies))))]
	}
	fmt.Printf("| subscribers | writes | writes/s | events delivered | events/s | p50 | p99 | max |\n")
	fmt.Printf("| --- | --- | --- | --- | --- | --- | --- | --- |\n")
	fmt.Printf("| %d | %d | %.0f | %d of %d | %.0f | %s | %s | %s |\n", n, writes, float64(writes)/writeTime.Seconds(),
		received.Load(), want, float64(received.Load())/elapsed.Seconds(),
		pct(0.50).Round(100*time.Microsecond), pct(0.99).Round(100*time.Microsecond), pct(1).Round(100*time.Microsecond))
	return nil
}

func signIn(client *http.Client, base, email, password string) (string, error) {
	body, _ := json.Marshal(map[string]string{"identity": email, "password": password})
	code, b, err := call(client, "POST", base+"/api/collections/_superusers/auth/password", "", string(body))
	if err != nil || code != 200 {
		return "", fmt.Errorf("sign in: %d %s %v", code, b, err)
	}
	var out struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(b, &out); err != nil || out.Token == "" {
		return "", fmt.Errorf("sign in: no token in %s", b)
	}
	return out.Token, nil
}

func call(client *http.Client, method, url, token, body string) (int, []byte, error) {
	req, err := http.NewRequest(method, url, bytes.NewReader([]byte(body)))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return resp.StatusCode, b, err
}
