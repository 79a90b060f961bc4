package sqlite_test

import (
	"path/filepath"
	"testing"

	"loam"
	"loam/sqlite"
	"loam/storetest"
)

// TestConformance runs the Store conformance suite on a fresh SQLite file per subtest.
func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) loam.Store {
		t.Helper()
		s, err := sqlite.Open(t.Context(), sqlite.Config{Path: filepath.Join(t.TempDir(), "data.db")})
		if err != nil {
			t.Fatalf("sqlite.Open: %v", err)
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
