package sqlstore

import (
	"context"
	"fmt"
	"time"

	"loam"
)

// Settings reads the stored settings document and its version.
func (s *Store) Settings(ctx context.Context) ([]byte, int64, error) {
	var data string
	var version int64
	if err := queryRow(ctx, s.db, []any{&version, &data}, `SELECT version, data FROM _settings WHERE id = 1`); err != nil {
		return nil, 0, fmt.Errorf("read settings: %w", err)
	}
	return []byte(data), version, nil
}

// SettingsVersion reads the version of the stored settings.
func (s *Store) SettingsVersion(ctx context.Context) (int64, error) {
	var version int64
	if err := queryRow(ctx, s.db, []any{&version}, `SELECT version FROM _settings WHERE id = 1`); err != nil {
		return 0, fmt.Errorf("read settings version: %w", err)
	}
	return version, nil
}

// SaveSettings writes data as the settings when their version is still
// version, and bumps it.
func (s *Store) SaveSettings(ctx context.Context, data []byte, version int64, now time.Time) error {
	b := &builder{d: s.d}
	b.sql("UPDATE _settings SET data = ").arg(string(data)).sql(", version = version + 1, updated = ").arg(s.d.EncodeTime(now)).
		sql(" WHERE id = 1 AND version = ").arg(version)
	n, err := s.writeOne(ctx, b)
	if err != nil {
		return fmt.Errorf("save settings: %w", err)
	}
	if n == 0 {
		return loam.Errorf(loam.CodePreconditionFailed, "the settings changed meanwhile")
	}
	return nil
}
