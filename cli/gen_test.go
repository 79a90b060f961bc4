package cli_test

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"loam"
	"loam/api"
)

var update = flag.Bool("update", false, "rewrite the golden generated files in testdata/")

// genSchema creates collections with every field type and kind of rule.
func genSchema(t *testing.T, app *loam.App) {
	t.Helper()
	for _, def := range []string{
		`{"name":"users","type":"auth",
		  "fields":[{"name":"name","type":"text","min":2,"max":50,"pattern":"^[^<>]*$"},
		            {"name":"avatar","type":"url"},
		            {"name":"notes","type":"text","hidden":true},
		            {"name":"role","type":"select","values":["reader","editor"],"default":"reader"}],
		  "rules":{"list":null,"view":"","create":"","update":null,"delete":null},
		  "auth":{"minPasswordLength":10}}`,
		`{"name":"posts",
		  "fields":[{"name":"title","type":"text","required":true,"max":200},
		            {"name":"slug","type":"text","unique":true,"pattern":"^[a-z0-9-]+$"},
		            {"name":"views","type":"number","integer":true,"min":0},
		            {"name":"score","type":"number","min":-1.5,"max":1.5},
		            {"name":"published","type":"bool"},
		            {"name":"contact","type":"email"},
		            {"name":"site","type":"url"},
		            {"name":"due","type":"date"},
		            {"name":"status","type":"select","values":["draft","live"],"required":true,"default":"draft"},
		            {"name":"tags","type":"select","values":["go","sql","web"],"multiple":true,"max":2},
		            {"name":"meta","type":"json"},
		            {"name":"author","type":"relation","collection":"users","required":true},
		            {"name":"editors","type":"relation","collection":"users","multiple":true,"min":1},
		            {"name":"stamp","type":"autodate","onCreate":true,"onUpdate":true},
		            {"name":"secret","type":"text","hidden":true}],
		  "rules":{"list":"","view":"","create":"","update":"","delete":null}}`,
		`{"name":"inbox","fields":[{"name":"message","type":"text","required":true}],
		  "rules":{"list":null,"view":null,"create":"","update":null,"delete":null}}`,
		`{"name":"audit","fields":[{"name":"what","type":"text"}]}`,
	} {
		var c loam.Collection
		if err := json.Unmarshal([]byte(def), &c); err != nil {
			t.Fatalf("%v\n%s", err, def)
		}
		if _, err := app.CreateCollection(context.Background(), loam.System, &c); err != nil {
			t.Fatalf("create %s: %v", c.Name, err)
		}
	}
}

// TestCLIGenOpenAPI: loam gen openapi writes the OpenAPI document of the
// schema in the database as superusers see it, to stdout or to a file.
func TestCLIGenOpenAPI(t *testing.T) {
	t.Parallel()
	forEachBackend(t, func(t *testing.T, b backend) {
		app := b.open(t)
		genSchema(t, app)
		want, err := json.MarshalIndent(api.OpenAPI(app.Schema(), true), "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		if r := run(t, b.cmd("gen", "openapi")...); r.code != 0 || r.stdout != string(want)+"\n" {
			t.Fatalf("gen openapi to stdout: not the superusers' document\n%s", r)
		}
		file := filepath.Join(t.TempDir(), "openapi.json")
		if r := run(t, b.cmd("gen", "openapi", file)...); r.code != 0 || !strings.Contains(r.stdout, file) {
			t.Fatalf("gen openapi %s: %s", file, r)
		}
		if got, err := os.ReadFile(file); err != nil || string(got) != string(want)+"\n" {
			t.Fatalf("gen openapi %s wrote another document (%v)", file, err)
		}
		for _, args := range [][]string{{"gen"}, {"gen", "ts"}, {"gen", "go", "x"}, {"gen", "openapi", "a", "b"}} {
			if r := run(t, b.cmd(args...)...); r.code != 2 || !strings.Contains(r.stderr, "usage: loam gen") {
				t.Errorf("%q: want the usage and exit 2, got %s", args, r)
			}
		}
	})
}

// tscPath is the TypeScript compiler scripts/test installs in
// tools/typescript. Without it the test is skipped, unless
// LOAM_REQUIRE_TSC=1 (set by scripts/test) makes that a failure.
func tscPath(t *testing.T) string {
	t.Helper()
	path, err := filepath.Abs(filepath.Join("..", "tools", "typescript", "node_modules", ".bin", "tsc"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("LOAM_REQUIRE_TSC") == "1" {
			t.Fatalf("no TypeScript compiler: %v (scripts/test installs it)", err)
		}
		t.Skipf("no TypeScript compiler at %s (cd tools/typescript && npm ci)", path)
	}
	return path
}

// TestCLIGenTS: loam gen ts writes types.ts (kept as a golden file) and
// client.ts for the schema in the database; a sample program compiles
// against them with tsc, its deliberate type errors included, and runs with
// node against a live server, through every method of the client.
func TestCLIGenTS(t *testing.T) {
	t.Parallel()
	tsc := tscPath(t)
	b := newBackend(t, "sqlite")
	app := b.open(t)
	genSchema(t, app)
	ctx := context.Background()
	const email, password = "root@example.com", "correct horse battery staple"
	if _, err := app.UpsertSuperuser(ctx, email, password); err != nil {
		t.Fatal(err)
	}
	srv := api.New(app, api.Config{Addr: "127.0.0.1:0"})
	if err := srv.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		srv.Stop(ctx)
	})

	dir := t.TempDir()
	if r := run(t, b.cmd("gen", "ts", dir)...); r.code != 0 {
		t.Fatalf("gen ts: %s", r)
	}
	types, err := os.ReadFile(filepath.Join(dir, "types.ts"))
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "gen", "types.ts")
	if *update {
		if err := os.WriteFile(golden, types, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(want) != string(types) {
		t.Errorf("types.ts differs from %s (go test ./cli -run TestCLIGenTS -update rewrites it):\n%s",
			golden, firstDiff(string(want), string(types)))
	}
	sample, err := os.ReadFile(filepath.Join("testdata", "gen", "sample.ts"))
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{
		"sample.ts":    string(sample),
		"package.json": `{"type": "module"}`,
		// As strict as a project that uses the client may be.
		"tsconfig.json": `{"compilerOptions": {"target": "ES2022", "module": "NodeNext", "moduleResolution": "NodeNext",
			"lib": ["ES2022", "DOM"], "strict": true, "exactOptionalPropertyTypes": true, "noUncheckedIndexedAccess": true,
			"noPropertyAccessFromIndexSignature": true, "noImplicitOverride": true, "noImplicitReturns": true,
			"verbatimModuleSyntax": true, "noEmitOnError": true, "outDir": "out"},
			"files": ["sample.ts"]}`,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmdCtx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	if out, err := exec.CommandContext(cmdCtx, tsc, "-p", dir).CombinedOutput(); err != nil {
		t.Fatalf("tsc: %v\n%s", err, out)
	}
	node := exec.CommandContext(cmdCtx, "node", filepath.Join(dir, "out", "sample.js"), "http://"+srv.Addr(), email, password)
	out, err := node.Output()
	if err != nil {
		stderr := ""
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = string(ee.Stderr)
		}
		t.Fatalf("node: %v\n%s\n%s", err, out, stderr)
	}
	wantOut := `signed in: root@example.com
user: Ada reader likes tea
others see notes: false
created: Hello, types draft go+sql 3 {"n":[1,2]}
page: Third/20, Second/10 -1 {"author":{"name":"Ada"}}
next: Hello, types -1 3
replayed: true
got: Hello, types {"author":{"role":"reader"}}
updated: live 4
aggregate: draft:2:30 live:1:4
deleted: 404 not_found
bad filter: 400 invalid_filter
invalid: 400 validation_failed title
superusers only: 401 unauthenticated
stale: 412 precondition_failed
`
	if string(out) != wantOut {
		t.Errorf("the sample printed:\n%s\nwant:\n%s", out, wantOut)
	}
}

// firstDiff shows the first line where two texts differ.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\n  want %s\n  got  %s", i+1, wl, gl)
		}
	}
	return ""
}
