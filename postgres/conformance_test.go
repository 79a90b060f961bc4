package postgres_test

import (
	"testing"

	"loam"
	"loam/postgres"
	"loam/postgres/pgtest"
	"loam/storetest"
)

// TestConformance runs the Store conformance suite on a fresh PostgreSQL
// database per subtest.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) loam.Store {
		t.Helper()
		s, err := postgres.Open(t.Context(), postgres.Config{URL: pgtest.URL(t), MaxConns: 4})
		if err != nil {
			t.Fatalf("postgres.Open: %v", err)
		}
		t.Cleanup(func() {
			if err := s.Close(); err != nil {
				t.Errorf("Close: %v", err)
			}
		})
		if err := s.Migrate(t.Context()); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		return s
	})
}
