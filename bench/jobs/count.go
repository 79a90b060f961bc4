package main

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/ncruces/go-sqlite3"
)

// countCompleted runs a count query on the benchmark's database directly.
func countCompleted(ctx context.Context, o options, query string) (int, error) {
	if o.store == "postgres" {
		conn, err := pgx.Connect(ctx, o.url)
		if err != nil {
			return 0, err
		}
		defer conn.Close(ctx)
		var n int
		err = conn.QueryRow(ctx, query).Scan(&n)
		return n, err
	}
	db, err := sqlite3.Open(o.path)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	st, _, err := db.Prepare(query)
	if err != nil {
		return 0, err
	}
	defer st.Close()
	if !st.Step() {
		return 0, fmt.Errorf("count: %w", st.Err())
	}
	return st.ColumnInt(0), nil
}
