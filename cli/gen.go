package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"loam/api"
	"loam/api/tsclient"
)

const genUsage = "usage: loam gen openapi [FILE] | loam gen ts DIR"

// gen writes what clients are built from, for the schema in the database:
// the OpenAPI document as superusers see it (every route and field), to
// FILE or stdout; or TypeScript types and a typed fetch client, into DIR.
func gen(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, fs := newCommand("gen", stderr, false)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 || (pos[0] == "openapi" && len(pos) > 2) || (pos[0] == "ts" && len(pos) != 2) ||
		(pos[0] != "openapi" && pos[0] != "ts") {
		return usageError{genUsage}
	}
	app, err := o.start(ctx, stderr)
	if err != nil {
		return err
	}
	defer app.Stop()
	schema := app.Schema()
	doc := api.OpenAPI(schema, true)
	if pos[0] == "openapi" {
		b, err := json.MarshalIndent(doc, "", "  ")
		if err != nil {
			return fmt.Errorf("encode the OpenAPI document: %w", err)
		}
		b = append(b, '\n')
		if len(pos) == 1 {
			_, err = stdout.Write(b)
			return err
		}
		if err := os.WriteFile(pos[1], b, 0o644); err != nil {
			return fmt.Errorf("write the OpenAPI document: %w", err)
		}
		fmt.Fprintf(stdout, "Wrote %s (%s).\n", pos[1], doc.Info.Version)
		return nil
	}
	files, err := tsclient.Generate(doc, api.OpenAPI(schema, false))
	if err != nil {
		return err
	}
	dir := pos[1]
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("make %s: %w", dir, err)
	}
	for _, f := range files {
		path := filepath.Join(dir, f.Name)
		if err := os.WriteFile(path, f.Body, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", path, err)
		}
		fmt.Fprintf(stdout, "Wrote %s.\n", path)
	}
	return nil
}
