package docsui

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// TestDocsUIChecksums: the committed Swagger UI files, and the embedded ones,
// are those scripts/refresh-docs-ui recorded, and VERSION names the package,
// its version and the registry's integrity hash.
func TestDocsUIChecksums(t *testing.T) {
	sums, err := os.Open("SHA256SUMS")
	if err != nil {
		t.Fatal(err)
	}
	defer sums.Close()
	recorded := map[string]string{}
	lines := bufio.NewScanner(sums)
	for lines.Scan() {
		sum, name, ok := strings.Cut(lines.Text(), "  ")
		if !ok || len(sum) != 64 {
			t.Fatalf("SHA256SUMS: a line not in sha256sum's format: %q", lines.Text())
		}
		recorded[name] = sum
		b, err := os.ReadFile(filepath.FromSlash(name))
		if err != nil {
			t.Fatal(err)
		}
		if got := sha256.Sum256(b); hex.EncodeToString(got[:]) != sum {
			t.Errorf("%s: SHA-256 %x, SHA256SUMS records %s (run scripts/refresh-docs-ui)", name, got, sum)
		}
	}
	if err := lines.Err(); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"dist/LICENSE", "dist/NOTICE"} {
		if recorded[want] == "" {
			t.Errorf("SHA256SUMS does not record %s, which must travel with Swagger UI", want)
		}
	}
	err = fs.WalkDir(files, "dist", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(files, name)
		if err != nil {
			return err
		}
		if got := sha256.Sum256(b); hex.EncodeToString(got[:]) != recorded[name] {
			t.Errorf("embedded %s: SHA-256 %x, SHA256SUMS records %q", name, got, recorded[name])
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}

	version, err := os.ReadFile("VERSION")
	if err != nil {
		t.Fatal(err)
	}
	want := regexp.MustCompile(`\Apackage swagger-ui-dist\nversion \d+\.\d+\.\d+\nintegrity sha512-[A-Za-z0-9+/]+=*\n\z`)
	if !want.Match(version) {
		t.Errorf("VERSION is not package, version and integrity lines:\n%s", version)
	}
}

// TestDocsUIPage: the page loads each asset from the prefix, and has no
// inline script or style, which its Content-Security-Policy would block.
func TestDocsUIPage(t *testing.T) {
	page := string(Page("/p/"))
	for _, a := range Assets() {
		if !strings.Contains(page, `"/p/`+a.Name+`"`) {
			t.Errorf("the page does not load %s from the prefix:\n%s", a.Name, page)
		}
		if len(a.Body) == 0 || a.ContentType == "application/octet-stream" {
			t.Errorf("asset %s: %d bytes of %s", a.Name, len(a.Body), a.ContentType)
		}
	}
	if strings.Contains(page, "{{") {
		t.Errorf("a placeholder is left in the page:\n%s", page)
	}
	for _, inline := range []*regexp.Regexp{regexp.MustCompile(`<script>|<script [^>]*>[^<]`), regexp.MustCompile(`<style|\sstyle=|\son[a-z]+=`)} {
		if m := inline.FindString(page); m != "" {
			t.Errorf("the page has inline code %q", m)
		}
	}
}
