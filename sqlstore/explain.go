package sqlstore

import (
	"context"
	"fmt"

	"loam"
)

// Explainer is implemented by a Dialect whose database can show how it
// runs a statement.
type Explainer interface {
	// Explain returns the plan of query with args, as the database
	// describes it, in text.
	Explain(ctx context.Context, q Querier, query string, args []any) (string, error)
}

// ExplainList returns the plan of the statement ListRecords runs for q on
// c, for tests and tools that check which indexes serve a list. A dialect
// that is no Explainer, and a query ListRecords would refuse, are errors.
func (s *Store) ExplainList(ctx context.Context, c *loam.Collection, q loam.RecordQuery) (string, error) {
	ex, ok := s.d.(Explainer)
	if !ok {
		return "", fmt.Errorf("explain list: %s cannot show plans", s.d.Name())
	}
	b, _, _, err := s.listSQL(c, pageDefaults(q))
	if err != nil {
		return "", err
	}
	plan, err := ex.Explain(ctx, s.db, b.String(), b.args)
	if err != nil {
		return "", fmt.Errorf("explain list: %w", err)
	}
	return plan, nil
}

// Analyze updates the statistics the query planner reads (ANALYZE), so
// that after a bulk load plans reflect the data.
func (s *Store) Analyze(ctx context.Context) error {
	err := s.db.Write(ctx, WriteOptions{}, func(tx Querier) error {
		_, err := tx.Exec(ctx, "ANALYZE")
		return err
	})
	if err != nil {
		return fmt.Errorf("analyze: %w", err)
	}
	return nil
}
