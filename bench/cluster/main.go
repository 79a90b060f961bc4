// Command cluster measures Loam as a cluster: for each count of api
// instances it starts that many `loam serve --roles api` processes on one
// fresh PostgreSQL database, nginx in front of them (configured by
// deploy/nginx/loam.conf.tmpl, as in the cluster test), seeds a collection
// through the balancer, and runs wrk's get-by-id and create scenarios
// (bench/get.lua, bench/create.lua) through it. It prints one Markdown
// table. bench/cluster.sh builds the binaries and runs it.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"text/template"
	"time"

	"github.com/jackc/pgx/v5"
)

const collectionJSON = `{"name":"posts","type":"base",
 "fields":[{"name":"title","type":"text"},{"name":"views","type":"number","integer":true},{"name":"published","type":"bool"}],
 "indexes":[{"name":"posts_views","fields":["views"]}],
 "rules":{"list":"","view":"","create":"","update":"","delete":""}}`

func main() {
	loamBin := flag.String("loam", "loam", "the loam binary")
	pgURL := flag.String("pg", "postgres://postgres@127.0.0.1:5432", "PostgreSQL server, without a database")
	counts := flag.String("instances", "1,2,3", "api instance counts to measure, comma-separated")
	duration := flag.String("duration", "10s", "wrk duration per scenario")
	conns := flag.Int("c", 64, "wrk connections")
	threads := flag.Int("t", 2, "wrk threads")
	records := flag.Int("records", 10000, "records seeded before the reads")
	benchDir := flag.String("bench", "bench", "the folder with the wrk scripts")
	tmplPath := flag.String("nginx-conf", "deploy/nginx/loam.conf.tmpl", "the nginx configuration template")
	flag.Parse()

	var rows []string
	for _, s := range strings.Split(*counts, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			log.Fatalf("-instances: %q is not a count", s)
		}
		r := &run{loam: *loamBin, pg: strings.TrimSuffix(*pgURL, "/"), n: n, duration: *duration, conns: *conns,
			threads: *threads, records: *records, bench: *benchDir, tmpl: *tmplPath}
		row, err := r.measure()
		r.stop()
		if err != nil {
			log.Fatalf("%d instance(s): %v", n, err)
		}
		rows = append(rows, row)
	}
	fmt.Println("| api instances | get-by-id req/s | p50 ms | p99 ms | create req/s | p50 ms | p99 ms | failed |")
	fmt.Println("| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
	for _, r := range rows {
		fmt.Println(r)
	}
}

// run is one measurement: n instances and their balancer.
type run struct {
	loam, pg, duration, bench, tmpl string
	n, conns, threads, records      int

	dir   string
	db    string
	procs []*exec.Cmd
}

func (r *run) measure() (string, error) {
	var err error
	if r.dir, err = os.MkdirTemp("", "loam-cluster-bench-"); err != nil {
		return "", err
	}
	if err := os.Chmod(r.dir, 0o755); err != nil {
		return "", err
	}
	r.db = fmt.Sprintf("loam_bench_cluster_%d_%d", os.Getpid(), r.n)
	if err := r.admin("CREATE DATABASE " + pgx.Identifier{r.db}.Sanitize()); err != nil {
		return "", err
	}
	url := r.pg + "/" + r.db + "?sslmode=disable"
	if out, err := exec.Command(r.loam, "superuser", "create", "bench@example.com", "bench-password-1234",
		"--db", url, "--dir", r.dir).CombinedOutput(); err != nil {
		return "", fmt.Errorf("superuser create: %v: %s", err, out)
	}
	var ups []string
	for i := range r.n {
		addr, err := r.start(fmt.Sprintf("api%d", i+1), "serve", "--roles", "api", "--http", "127.0.0.1:0",
			"--db", url, "--dir", r.dir, "--log-level", "warn")
		if err != nil {
			return "", err
		}
		ups = append(ups, addr)
	}
	lb, err := r.nginx(ups)
	if err != nil {
		return "", err
	}
	log.Printf("%d instance(s) behind %s", r.n, lb)
	token, err := signIn(lb)
	if err != nil {
		return "", err
	}
	if status, body, err := post(lb, "/api/collections", token, collectionJSON); err != nil || status != 201 {
		return "", fmt.Errorf("create collection: %d %s %v", status, body, err)
	}
	ids, err := seed(lb, r.records)
	if err != nil {
		return "", err
	}
	idsFile := filepath.Join(r.dir, "ids.txt")
	if err := os.WriteFile(idsFile, []byte(strings.Join(ids, "\n")+"\n"), 0o644); err != nil {
		return "", err
	}
	if _, err := r.wrk(lb, "2s", "get.lua", idsFile); err != nil { // warm-up
		return "", err
	}
	get, err := r.wrk(lb, r.duration, "get.lua", idsFile)
	if err != nil {
		return "", err
	}
	create, err := r.wrk(lb, r.duration, "create.lua")
	if err != nil {
		return "", err
	}
	return fmt.Sprintf("| %d | %.0f | %.2f | %.2f | %.0f | %.2f | %.2f | %d |", r.n, get.rps, get.p50, get.p99,
		create.rps, create.p50, create.p99, get.failed+create.failed), nil
}

func (r *run) admin(sql string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, r.pg+"/postgres?sslmode=disable")
	if err != nil {
		return err
	}
	defer conn.Close(ctx)
	_, err = conn.Exec(ctx, sql)
	return err
}

var servingRE = regexp.MustCompile(`Loam is serving http://([^/]+)/api/`)

// start runs the loam binary and returns the address it serves on.
func (r *run) start(name string, args ...string) (string, error) {
	cmd := exec.Command(r.loam, args...)
	logFile, err := os.Create(filepath.Join(r.dir, name+".log"))
	if err != nil {
		return "", err
	}
	cmd.Stderr = logFile
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	if err := cmd.Start(); err != nil {
		return "", err
	}
	r.procs = append(r.procs, cmd)
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if m := servingRE.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	select {
	case a := <-addr:
		return a, nil
	case <-time.After(60 * time.Second):
		return "", fmt.Errorf("%s did not start; see %s", name, logFile.Name())
	}
}

// nginx starts nginx in front of ups and returns its base URL.
func (r *run) nginx(ups []string) (string, error) {
	tmpl, err := template.ParseFiles(r.tmpl)
	if err != nil {
		return "", err
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	listen := l.Addr().String()
	l.Close()
	user := ""
	if os.Geteuid() == 0 {
		user = "root"
	}
	var conf bytes.Buffer
	if err := tmpl.Execute(&conf, map[string]any{"Dir": r.dir, "Listen": listen, "Upstreams": ups, "User": user}); err != nil {
		return "", err
	}
	path := filepath.Join(r.dir, "nginx.conf")
	if err := os.WriteFile(path, conf.Bytes(), 0o644); err != nil {
		return "", err
	}
	cmd := exec.Command("nginx", "-p", r.dir, "-c", path, "-e", filepath.Join(r.dir, "error.log"))
	if err := cmd.Start(); err != nil {
		return "", err
	}
	r.procs = append(r.procs, cmd)
	base := "http://" + listen
	for range 300 {
		if resp, err := http.Get(base + "/api/health"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return base, nil
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	return "", errors.New("nginx did not answer in 30 s")
}

// stop ends the processes and drops the database.
func (r *run) stop() {
	for _, c := range r.procs {
		_ = c.Process.Signal(syscall.SIGTERM)
	}
	for _, c := range r.procs {
		_ = c.Wait()
	}
	if r.db != "" {
		if err := r.admin("DROP DATABASE IF EXISTS " + pgx.Identifier{r.db}.Sanitize() + " WITH (FORCE)"); err != nil {
			log.Printf("drop %s: %v", r.db, err)
		}
	}
	if r.dir != "" {
		os.RemoveAll(r.dir)
	}
}

// figures are what report.lua prints.
type figures struct {
	rps, p50, p99 float64
	failed        int
}

var benchRE = regexp.MustCompile(`BENCH rps=([\d.]+) p50=([\d.]+) p90=[\d.]+ p99=([\d.]+) .* non2xx=(\d+) sockerr=(\d+)`)

func (r *run) wrk(base, duration, script string, args ...string) (*figures, error) {
	cmdArgs := []string{"-t" + strconv.Itoa(r.threads), "-c" + strconv.Itoa(r.conns), "-d" + duration, "--latency",
		"-s", filepath.Join(r.bench, script), base}
	if len(args) > 0 {
		cmdArgs = append(append(cmdArgs, "--"), args...)
	}
	out, err := exec.Command("wrk", cmdArgs...).CombinedOutput()
	if err != nil {
		return nil, fmt.Errorf("wrk %s: %v: %s", script, err, out)
	}
	m := benchRE.FindSubmatch(out)
	if m == nil {
		return nil, fmt.Errorf("wrk %s printed no figures: %s", script, out)
	}
	f := &figures{}
	f.rps, _ = strconv.ParseFloat(string(m[1]), 64)
	f.p50, _ = strconv.ParseFloat(string(m[2]), 64)
	f.p99, _ = strconv.ParseFloat(string(m[3]), 64)
	non2xx, _ := strconv.Atoi(string(m[4]))
	sockerr, _ := strconv.Atoi(string(m[5]))
	f.failed = non2xx + sockerr
	return f, nil
}

func post(base, path, token, body string) (int, []byte, error) {
	req, err := http.NewRequest("POST", base+path, strings.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	return resp.StatusCode, raw, err
}

func signIn(base string) (string, error) {
	status, body, err := post(base, "/api/collections/_superusers/auth/password", "",
		`{"identity":"bench@example.com","password":"bench-password-1234"}`)
	if err != nil || status != 200 {
		return "", fmt.Errorf("sign in: %d %s %v", status, body, err)
	}
	var m struct{ Token string }
	if err := json.Unmarshal(body, &m); err != nil {
		return "", err
	}
	return m.Token, nil
}

// seed creates n records through base from 32 clients and returns their ids.
func seed(base string, n int) ([]string, error) {
	ids := make([]string, n)
	var wg sync.WaitGroup
	errs := make(chan error, 32)
	next := make(chan int)
	for range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				status, body, err := post(base, "/api/collections/posts/records", "",
					fmt.Sprintf(`{"title":"post %d","views":%d,"published":%t}`, i, i, i%2 == 0))
				if err != nil || status != 201 {
					errs <- fmt.Errorf("seed %d: %d %s %v", i, status, body, err)
					return
				}
				var m struct{ ID string }
				_ = json.Unmarshal(body, &m)
				ids[i] = m.ID
			}
		}()
	}
	for i := range n {
		select {
		case next <- i:
		case err := <-errs:
			close(next)
			wg.Wait()
			return nil, err
		}
	}
	close(next)
	wg.Wait()
	select {
	case err := <-errs:
		return nil, err
	default:
	}
	return ids, nil
}
