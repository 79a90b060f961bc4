package api_test

import (
	"context"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// chromiumPath is Debian's Chromium (LOAM_CHROMIUM names another). Without
// it the browser tests are skipped, unless LOAM_REQUIRE_CHROMIUM=1 (set by
// .ci/run, which installs it) makes that a failure.
func chromiumPath(t *testing.T) string {
	t.Helper()
	path := os.Getenv("LOAM_CHROMIUM")
	if path == "" {
		path = "/usr/bin/chromium"
	}
	if _, err := os.Stat(path); err != nil {
		if os.Getenv("LOAM_REQUIRE_CHROMIUM") == "1" {
			t.Fatalf("no Chromium at %s: %v (apt-get install -y chromium)", path, err)
		}
		t.Skipf("no Chromium at %s (apt-get install -y chromium, or set LOAM_CHROMIUM)", path)
	}
	return path
}

// cssID selects the element whose id is exactly id, whatever it holds
// (Swagger UI's operation ids hold dots, escaped with a backslash).
func cssID(id string) string {
	return `[id="` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(id) + `"]`
}

// TestDocsInBrowser: headless Chromium opens /api/docs on a live server and
// sees the collections the anonymous document shows; it sends a request from
// the page ("Try it out" on the list of a public collection) and sees the
// answer; given a superuser's token under Authorize, the page shows the
// superusers' routes too. The page asked nothing of any host but the
// server's, and nothing it did broke its Content-Security-Policy.
func TestDocsInBrowser(t *testing.T) {
	t.Parallel()
	chromium := chromiumPath(t)
	e := newEnv(t, "sqlite")
	e.mustCreateCollection(t, `{"name":"posts","fields":[{"name":"title","type":"text","required":true}],
		"rules":{"list":"","view":""}}`)
	e.mustCreateCollection(t, `{"name":"drafts","fields":[{"name":"body","type":"text"}]}`)
	e.mustCreate(t, "posts", map[string]any{"title": "Hello from the docs"})
	e.mustCreate(t, "posts", map[string]any{"title": "Left out by the filter"})
	// The browser reaches the server by a name that is not a loopback one,
	// as users do (Swagger UI behaves differently for localhost); every other
	// name resolves to nothing, so that a request to another host could not
	// leave the machine: the test still sees it asked for.
	base, err := url.Parse(e.base)
	if err != nil {
		t.Fatal(err)
	}
	const host = "loam.test"
	base.Host = host + ":" + base.Port()
	opts := append(chromedp.DefaultExecAllocatorOptions[:], chromedp.ExecPath(chromium), chromedp.NoSandbox,
		chromedp.Headless, chromedp.Flag("host-resolver-rules", "MAP "+host+" 127.0.0.1, MAP * ~NOTFOUND"))
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	defer cancelAlloc()
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	defer cancelBrowser()
	if err := chromedp.Do(browserCtx); err != nil { // starts the browser, with no deadline
		t.Fatalf("start Chromium: %v", err)
	}
	ctx, cancel := context.WithTimeout(browserCtx, 60*time.Second)
	defer cancel()

	var mu sync.Mutex
	var requests []string // "METHOD URL" of every request the page made
	if err := chromedp.Listen(ctx, func(ev any) {
		if ev, ok := ev.(*network.EventRequestWillBeSent); ok {

			mu.Lock()
			requests = append(requests, ev.Request.Method+" "+ev.Request.URL)
			mu.Unlock()
		}
	}); err != nil {
		t.Fatal(err)
	}
	// The page keeps every breach of its policy, also those it survives.
	if _, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{
		Source: `window.cspViolations = [];
			document.addEventListener("securitypolicyviolation", e =>
				window.cspViolations.push(e.effectiveDirective + " " + e.blockedURI + " at " + e.sourceFile + ":" + e.lineNumber));`,
	}); err != nil {
		t.Fatal(err)
	}

	step := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(ctx, actions...); err != nil {
			t.Fatalf("%s: %v", what, err)
		}
	}
	list := cssID(`operations-posts-posts\.list`)
	step("open /api/docs and wait for the operations", chromedp.Navigate(base.String()+"/api/docs"),
		chromedp.WaitVisible(chromedp.CSS(list)))
	text, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS("#docs")))
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"posts", "_superusers", "List posts records"} {
		if !strings.Contains(text, want) {
			t.Errorf("the page does not show %q:\n%s", want, text)
		}
	}
	if strings.Contains(text, "drafts") {
		t.Errorf("the page shows drafts, which only superusers may use, before any token is given")
	}

	step("try the list of posts from the page",
		chromedp.Click(chromedp.CSS(list+" .opblock-summary-control")),
		chromedp.Click(chromedp.CSS(list+" .try-out__btn")),
		chromedp.SendKeys(chromedp.CSS(list+` tr[data-param-name="filter"] input`), `title ~ "docs"`),
		chromedp.Click(chromedp.CSS(list+" .btn.execute")),
		chromedp.WaitVisible(chromedp.CSS(list+" .live-responses-table tr.response .response-col_status")))
	status, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(list+" .live-responses-table tr.response .response-col_status")))
	if err != nil {
		t.Fatal(err)
	}
	body, err := chromedp.Run(ctx, chromedp.Text(chromedp.CSS(list+" .live-responses-table tr.response .response-col_description pre")))
	if err != nil {
		t.Fatal(err)
	}
	if strings.TrimSpace(status) != "200" || !strings.Contains(body, "Hello from the docs") || strings.Contains(body, "Left out") {
		t.Errorf("Try it out answered %q:\n%s", status, body)
	}

	step("authorize with a superuser's token; the document is loaded again with it",
		chromedp.Click(chromedp.CSS(".auth-wrapper .btn.authorize")),
		chromedp.SendKeys(chromedp.CSS(".modal-ux .auth-container input"), e.super),
		chromedp.Click(chromedp.CSS(".modal-ux .auth-btn-wrapper .btn.authorize")),
		chromedp.Click(chromedp.CSS(".modal-ux .btn-done")),
		chromedp.WaitVisible(chromedp.CSS(cssID(`operations-drafts-drafts\.list`))),
		chromedp.WaitVisible(chromedp.CSS(cssID(`operations-collections-collections\.list`))))

	violations, err := chromedp.Run(ctx, chromedp.Evaluate[[]string](`window.cspViolations`))
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range violations {
		t.Errorf("the page broke its Content-Security-Policy: %s", v)
	}

	mu.Lock()
	defer mu.Unlock()
	sentList := false
	for _, r := range requests {
		method, raw, _ := strings.Cut(r, " ")
		u, err := url.Parse(raw)
		switch {
		case err != nil:
			t.Errorf("the page asked for %s, which does not parse: %v", r, err)
		case u.Scheme == "data":
			// inline data (an icon), asked of no host
		case u.Scheme != "http" || u.Host != base.Host:
			t.Errorf("the page asked another host than Loam's: %s", r)
		case method == "GET" && u.Path == "/api/collections/posts/records" && u.Query().Get("filter") == `title ~ "docs"`:
			sentList = true
		}
	}
	if !sentList {
		t.Errorf("the page sent no GET /api/collections/posts/records with the filter; it asked for:\n%s",
			strings.Join(requests, "\n"))
	}
}
