package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"

	"loam"
)

// schemaFile is the shape of `loam schema export`.
type schemaFile struct {
	Collections []*loam.Collection `json:"collections"`
}

func schema(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	o, fs := newCommand("schema", stderr, false)
	allowDrop := fs.Bool("allow-drop", false, "let apply drop fields and collections")
	dryRun := fs.Bool("dry-run", false, "show the plan of apply without changing anything")
	pos, err := parse(fs, args)
	if err != nil {
		return err
	}
	if len(pos) == 0 || (pos[0] == "export" && len(pos) != 1) || (pos[0] == "apply" && len(pos) != 2) ||
		(pos[0] != "export" && pos[0] != "apply") {
		return usageError{"usage: loam schema export | loam schema apply FILE [--allow-drop] [--dry-run]"}
	}
	var file *schemaFile
	if pos[0] == "apply" {
		raw, err := os.ReadFile(pos[1])
		if err != nil {
			return fmt.Errorf("read schema: %w", err)
		}
		file = &schemaFile{}
		dec := json.NewDecoder(strings.NewReader(string(raw)))
		dec.DisallowUnknownFields()
		if err := dec.Decode(file); err != nil {
			return fmt.Errorf("read schema %s: %w", pos[1], err)
		}
	}
	app, err := o.start(ctx, stderr)
	if err != nil {
		return err
	}
	defer app.Stop()
	if file == nil {
		out := schemaFile{Collections: []*loam.Collection{}}
		for _, c := range app.Schema().Collections() {
			if !c.System {
				out.Collections = append(out.Collections, c)
			}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	p := planSchema(app.Schema(), file)
	if len(p.steps) == 0 {
		fmt.Fprintln(stdout, "The schema already matches; nothing to do.")
		return nil
	}
	fmt.Fprintln(stdout, "Plan:")
	for _, s := range p.steps {
		fmt.Fprintf(stdout, "  %s\n", s.describe)
	}
	if p.drops && !*allowDrop {
		return fmt.Errorf("the plan drops data; run again with --allow-drop to apply it")
	}
	if *dryRun {
		return nil
	}
	for _, s := range p.steps {
		if err := s.run(ctx, app); err != nil {
			return fmt.Errorf("%s: %w", s.describe, err)
		}
	}
	fmt.Fprintf(stdout, "Applied %d step(s).\n", len(p.steps))
	return nil
}

type step struct {
	describe string
	run      func(ctx context.Context, app *loam.App) error
}

type plan struct {
	steps []step
	drops bool
}

// planSchema lists the steps that turn the live schema into the file's:
// creations in an order where relation targets come first, then updates,
// then drops. Fields are matched by id, then by name.
func planSchema(live *loam.Schema, file *schemaFile) plan {
	var p plan
	want := map[string]*loam.Collection{}
	for _, c := range file.Collections {
		want[c.Name] = c
	}
	var creates []*loam.Collection
	for _, c := range file.Collections {
		if cur := live.Collection(c.Name); cur == nil {
			creates = append(creates, c)
		} else if s, drops, ok := updateStep(cur, c); ok {
			p.steps = append(p.steps, s)
			p.drops = p.drops || drops
		}
	}
	p.steps = append(createSteps(live, creates), p.steps...)
	for _, c := range live.Collections() {
		if c.System || want[c.Name] != nil {
			continue
		}
		name := c.Name
		p.drops = true
		p.steps = append(p.steps, step{describe: "drop collection " + name + " and its records", run: func(ctx context.Context, app *loam.App) error {
			return app.DeleteCollection(ctx, loam.System, name)
		}})
	}
	return p
}

// createSteps orders creations so that relation targets come first; a
// target missing everywhere is left for CreateCollection to report.
func createSteps(live *loam.Schema, creates []*loam.Collection) []step {
	var steps []step
	made := map[string]bool{}
	add := func(c *loam.Collection) {
		made[c.Name] = true
		steps = append(steps, step{describe: "create collection " + c.Name, run: func(ctx context.Context, app *loam.App) error {
			_, err := app.CreateCollection(ctx, loam.System, c)
			return err
		}})
	}
	for len(creates) > 0 {
		var later []*loam.Collection
		for _, c := range creates {
			ready := true
			for _, f := range c.Fields {
				if f.Type == loam.TypeRelation && f.Collection != c.Name && live.Collection(f.Collection) == nil && !made[f.Collection] {
					ready = false
				}
			}
			if ready {
				add(c)
			} else {
				later = append(later, c)
			}
		}
		if len(later) == len(creates) {
			for _, c := range later {
				add(c)
			}
			break
		}
		creates = later
	}
	return steps
}

// updateStep builds the PATCH that makes cur look like want.
func updateStep(cur, want *loam.Collection) (step, bool, bool) {
	var notes []string
	drops := false
	fields := make([]loam.Field, 0, len(want.Fields))
	kept := map[string]bool{}
	for _, f := range want.Fields {
		if f.System {
			continue
		}
		o := cur.FieldByID(f.ID)
		if o == nil {
			o = cur.Field(f.Name)
		}
		if o == nil {
			f.ID = ""
			notes = append(notes, "add field "+f.Name)
		} else {
			f.ID = o.ID
			kept[o.ID] = true
			if o.Name != f.Name {
				notes = append(notes, "rename field "+o.Name+" to "+f.Name)
			} else if !sameField(o, &f) {
				notes = append(notes, "change field "+f.Name)
			}
		}
		fields = append(fields, f)
	}
	for _, o := range cur.Fields {
		if !o.System && !kept[o.ID] {
			notes = append(notes, "drop field "+o.Name+" and its data")
			drops = true
		}
	}
	curIdx, _ := json.Marshal(cur.Indexes)
	wantIdx, _ := json.Marshal(want.Indexes)
	if string(curIdx) != string(wantIdx) {
		notes = append(notes, "change indexes")
	}
	curRules, _ := json.Marshal(cur.Rules)
	wantRules, _ := json.Marshal(want.Rules)
	if string(curRules) != string(wantRules) {
		notes = append(notes, "change rules")
	}
	patch := map[string]any{"fields": fields, "indexes": want.Indexes, "rules": want.Rules}
	if want.Type != "" && want.Type != cur.Type {
		// Refused by the server (a type never changes); sent so that apply
		// says so instead of passing over it.
		notes = append(notes, "change type to "+want.Type)
		patch["type"] = want.Type
	}
	if want.Auth != nil && cur.Auth != nil {
		curAuth, _ := json.Marshal(cur.Auth)
		wantAuth, _ := json.Marshal(want.Auth)
		if string(curAuth) != string(wantAuth) {
			notes = append(notes, "change auth options")
			patch["auth"] = want.Auth
		}
	}
	if len(notes) == 0 {
		return step{}, false, false
	}
	if want.Indexes == nil {
		patch["indexes"] = []loam.Index{}
	}
	name := cur.Name
	return step{
		describe: "update collection " + name + ": " + strings.Join(notes, ", "),
		run: func(ctx context.Context, app *loam.App) error {
			raw, err := json.Marshal(patch)
			if err != nil {
				return err
			}
			_, err = app.UpdateCollection(ctx, loam.System, name, raw)
			return err
		},
	}, drops, true
}

func sameField(a, b *loam.Field) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}
