// Command bulk fills the scale benchmark's collection fast: it opens Loam's
// database directly (the SQLite file, or PostgreSQL) and inserts n rows with
// one INSERT ... SELECT that the database generates itself, then runs
// ANALYZE. The rows bypass the API (no events); they exist to be read.
//
// Each row i (1..n) gets the id i in 15 digits, created and updated one
// second apart from 2020-01-01, status "s" + i mod 10, n = i and the
// title "item i".
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"strconv"
	"time"

	"loam"
	"loam/postgres"
	"loam/sqlite"
	"loam/sqlstore"
)

func main() {
	file := flag.String("sqlite", "", "the SQLite database file (data.db)")
	url := flag.String("postgres", "", "the PostgreSQL URL")
	coll := flag.String("collection", "items", "collection to fill")
	n := flag.Int("n", 10000, "rows to insert")
	flag.Parse()
	if err := run(context.Background(), *file, *url, *coll, *n); err != nil {
		log.Fatalf("bulk: %v", err)
	}
}

func run(ctx context.Context, file, url, name string, n int) error {
	var (
		s   *sqlstore.Store
		err error
		ins string
	)
	switch {
	case file != "":
		s, err = sqlite.Open(ctx, sqlite.Config{Path: file})
		ins = `WITH RECURSIVE seq(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM seq WHERE i < ?1)
INSERT INTO %s (id, created, updated, status, n, title)
SELECT printf('%%015d', i), strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', '2020-01-01', '+' || i || ' seconds'),
       strftime('%%Y-%%m-%%dT%%H:%%M:%%fZ', '2020-01-01', '+' || i || ' seconds'),
       's' || (i %% 10), i, 'item ' || i FROM seq`
	case url != "":
		s, err = postgres.Open(ctx, postgres.Config{URL: url})
		ins = `INSERT INTO %s (id, created, updated, status, n, title)
SELECT lpad(i::text, 15, '0'), timestamptz '2020-01-01 00:00:00Z' + i * interval '1 second',
       timestamptz '2020-01-01 00:00:00Z' + i * interval '1 second', 's' || (i %% 10), i, 'item ' || i
FROM generate_series(1, $1::bigint) AS i`
	default:
		return fmt.Errorf("give -sqlite FILE or -postgres URL")
	}
	if err != nil {
		return err
	}
	defer s.Close()
	cols, _, err := s.Collections(ctx)
	if err != nil {
		return err
	}
	var c *loam.Collection
	for _, x := range cols {
		if x.Name == name {
			c = x
		}
	}
	if c == nil {
		return fmt.Errorf("no collection %q", name)
	}
	start := time.Now()
	err = s.DB().Write(ctx, sqlstore.WriteOptions{}, func(tx sqlstore.Querier) error {
		_, err := tx.Exec(ctx, fmt.Sprintf(ins, `"`+c.Name+`"`), int64(n))
		return err
	})
	if err != nil {
		return fmt.Errorf("insert: %w", err)
	}
	err = s.DB().Write(ctx, sqlstore.WriteOptions{}, func(tx sqlstore.Querier) error {
		_, err := tx.Exec(ctx, "ANALYZE")
		return err
	})
	if err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	fmt.Fprintf(os.Stderr, "bulk: %s rows into %s in %s\n", strconv.Itoa(n), name, time.Since(start).Round(time.Millisecond))
	return nil
}
