package cli

import (
	"context"
	"fmt"
	"io"

	"loam"
)

func superuser(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, fs := newCommand("superuser", stderr, false)
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) != 3 || (pos[0] != "create" && pos[0] != "upsert") {
		return usageError{"usage: loam superuser create|upsert EMAIL PASSWORD"}
	}
	app, err := o.start(ctx, stderr)
	if err != nil {
		return err
	}
	defer app.Stop()
	var rec *loam.Record
	if pos[0] == "create" {
		body, err := loam.JSONBody(map[string]any{"email": pos[1], "password": pos[2]})
		if err != nil {
			return err
		}
		rec, err = app.CreateRecord(ctx, loam.System, loam.SuperusersCollection, body)
		if err != nil {
			return fmt.Errorf("create superuser: %w", err)
		}
	} else if rec, err = app.UpsertSuperuser(ctx, pos[1], pos[2]); err != nil {
		return fmt.Errorf("upsert superuser: %w", err)
	}
	fmt.Fprintf(stdout, "superuser %s (%s) is ready\n", pos[1], rec.ID)
	return nil
}
