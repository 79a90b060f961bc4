package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"loam"
)

// apiKeyColumns are the columns scanAPIKey reads (the hash is read apart).
const apiKeyColumns = "id, collection, record_id, name, hint, scopes, created, expires, last_used"

// CreateAPIKey stores a key.
func (s *Store) CreateAPIKey(ctx context.Context, k *loam.APIKey) error {
	scopes, err := json.Marshal(k.Scopes)
	if err != nil {
		return fmt.Errorf("create api key: encode scopes: %w", err)
	}
	b := &builder{d: s.d}
	b.sql("INSERT INTO _api_keys (id, collection, record_id, name, key_hash, hint, scopes, created, expires, last_used) VALUES (").
		arg(k.ID).sql(", ").arg(k.Collection).sql(", ").arg(k.RecordID).sql(", ").arg(k.Name).sql(", ").arg(k.KeyHash).
		sql(", ").arg(k.Hint).sql(", ").arg(string(scopes)).sql(", ").arg(s.d.EncodeTime(k.Created)).
		sql(", ").arg(s.optTime(k.Expires)).sql(", ").arg(s.optTime(k.LastUsed)).sql(")")
	if _, err := s.writeOne(ctx, b); err != nil {
		return fmt.Errorf("create api key: %w", err)
	}
	return nil
}

// optTime encodes a time, or NULL for the zero time.
func (s *Store) optTime(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return s.d.EncodeTime(t)
}

// APIKeyByHash returns the unexpired key with that hash.
func (s *Store) APIKeyByHash(ctx context.Context, hash []byte, now time.Time) (*loam.APIKey, error) {
	b := &builder{d: s.d}
	b.sql("SELECT ", apiKeyColumns, " FROM _api_keys WHERE key_hash = ").arg(hash).
		sql(" AND (expires IS NULL OR expires > ").arg(s.d.EncodeTime(now)).sql(")")
	k, err := s.apiKey(ctx, b)
	if err != nil {
		return nil, err
	}
	k.KeyHash = hash
	return k, nil
}

// APIKeyByID returns one key, expired or not.
func (s *Store) APIKeyByID(ctx context.Context, id string) (*loam.APIKey, error) {
	b := &builder{d: s.d}
	b.sql("SELECT ", apiKeyColumns, " FROM _api_keys WHERE id = ").arg(id)
	return s.apiKey(ctx, b)
}

// APIKeys returns the keys of one record, newest first.
func (s *Store) APIKeys(ctx context.Context, collection, recordID string) ([]*loam.APIKey, error) {
	b := &builder{d: s.d}
	b.sql("SELECT ", apiKeyColumns, " FROM _api_keys WHERE collection = ").arg(collection).
		sql(" AND record_id = ").arg(recordID).sql(" ORDER BY created DESC, id DESC")
	return s.apiKeys(ctx, b)
}

// DeleteAPIKey deletes one key.
func (s *Store) DeleteAPIKey(ctx context.Context, id string) error {
	b := &builder{d: s.d}
	b.sql("DELETE FROM _api_keys WHERE id = ").arg(id)
	n, err := s.writeOne(ctx, b)
	if err != nil {
		return fmt.Errorf("delete api key: %w", err)
	}
	if n == 0 {
		return loam.Errorf(loam.CodeNotFound, "no such api key")
	}
	return nil
}

// TouchAPIKey records a use of a key, when its last one is stale.
func (s *Store) TouchAPIKey(ctx context.Context, id string, now, stale time.Time) error {
	b := &builder{d: s.d}
	b.sql("UPDATE _api_keys SET last_used = ").arg(s.d.EncodeTime(now)).sql(" WHERE id = ").arg(id).
		sql(" AND (last_used IS NULL OR last_used <= ").arg(s.d.EncodeTime(stale)).sql(")")
	if _, err := s.writeOne(ctx, b); err != nil {
		return fmt.Errorf("touch api key: %w", err)
	}
	return nil
}

func (s *Store) apiKey(ctx context.Context, b *builder) (*loam.APIKey, error) {
	list, err := s.apiKeys(ctx, b)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, loam.Errorf(loam.CodeNotFound, "no such api key")
	}
	return list[0], nil
}

func (s *Store) apiKeys(ctx context.Context, b *builder) ([]*loam.APIKey, error) {
	rows, err := s.db.Query(ctx, b.String(), b.args...)
	if err != nil {
		return nil, fmt.Errorf("read api keys: %w", err)
	}
	defer rows.Close()
	var out []*loam.APIKey
	for rows.Next() {
		var k loam.APIKey
		var scopes string
		var created, expires, lastUsed any
		if err := rows.Scan(&k.ID, &k.Collection, &k.RecordID, &k.Name, &k.Hint, &scopes, &created, &expires, &lastUsed); err != nil {
			return nil, fmt.Errorf("read api keys: %w", err)
		}
		if err := json.Unmarshal([]byte(scopes), &k.Scopes); err != nil {
			return nil, fmt.Errorf("read api keys: scopes of %s: %w", k.ID, err)
		}
		if k.Created, err = asTime(created); err != nil {
			return nil, fmt.Errorf("read api keys: %w", err)
		}
		for _, t := range []struct {
			v   any
			dst *time.Time
		}{{expires, &k.Expires}, {lastUsed, &k.LastUsed}} {
			if t.v == nil {
				continue
			}
			if *t.dst, err = asTime(t.v); err != nil {
				return nil, fmt.Errorf("read api keys: %w", err)
			}
		}
		out = append(out, &k)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read api keys: %w", err)
	}
	return out, nil
}
