package sqlstore

import (
	"context"
	"fmt"

	"loam"
)

// PutMFA stores a factor waiting for its first code, replacing one that
// is not enabled yet.
func (s *Store) PutMFA(ctx context.Context, m *loam.MFA) error {
	err := s.db.Write(ctx, WriteOptions{}, func(tx Querier) error {
		var enabled int64
		b := &builder{d: s.d}
		b.sql("SELECT enabled FROM _mfa WHERE collection = ").arg(m.Collection).sql(" AND record_id = ").arg(m.RecordID)
		err := queryRow(ctx, tx, []any{&enabled}, b.String(), b.args...)
		switch {
		case err == errNoRows:
		case err != nil:
			return err
		case enabled != 0:
			return loam.Errorf(loam.CodeConflict, "the second factor is on already")
		}
		b = &builder{d: s.d}
		b.sql("DELETE FROM _mfa WHERE collection = ").arg(m.Collection).sql(" AND record_id = ").arg(m.RecordID)
		if _, err := tx.Exec(ctx, b.String(), b.args...); err != nil {
			return err
		}
		b = &builder{d: s.d}
		b.sql("INSERT INTO _mfa (collection, record_id, secret, enabled, last_step, created) VALUES (").arg(m.Collection).
			sql(", ").arg(m.RecordID).sql(", ").arg(m.Secret).sql(", 0, 0, ").arg(s.d.EncodeTime(m.Created)).sql(")")
		_, err = tx.Exec(ctx, b.String(), b.args...)
		return err
	})
	if err != nil {
		return fmt.Errorf("put mfa: %w", err)
	}
	return nil
}

// MFAOf returns a record's factor.
func (s *Store) MFAOf(ctx context.Context, collection, recordID string) (*loam.MFA, error) {
	b := &builder{d: s.d}
	b.sql("SELECT secret, enabled, last_step, created FROM _mfa WHERE collection = ").arg(collection).
		sql(" AND record_id = ").arg(recordID)
	m := &loam.MFA{Collection: collection, RecordID: recordID}
	var enabled int64
	var created any
	err := queryRow(ctx, s.db, []any{&m.Secret, &enabled, &m.LastStep, &created}, b.String(), b.args...)
	if err == errNoRows {
		return nil, loam.Errorf(loam.CodeNotFound, "no second factor")
	}
	if err != nil {
		return nil, fmt.Errorf("read mfa: %w", err)
	}
	m.Enabled = enabled != 0
	if m.Created, err = asTime(created); err != nil {
		return nil, fmt.Errorf("read mfa: %w", err)
	}
	return m, nil
}

// EnableMFA turns a waiting factor on and replaces its recovery codes, in
// one transaction.
func (s *Store) EnableMFA(ctx context.Context, collection, recordID string, step int64, codes [][]byte) error {
	err := s.db.Write(ctx, WriteOptions{}, func(tx Querier) error {
		b := &builder{d: s.d}
		b.sql("UPDATE _mfa SET enabled = 1, last_step = ").arg(step).sql(" WHERE collection = ").arg(collection).
			sql(" AND record_id = ").arg(recordID).sql(" AND enabled = 0")
		n, err := tx.Exec(ctx, b.String(), b.args...)
		if err != nil {
			return err
		}
		if n == 0 {
			return loam.Errorf(loam.CodeNotFound, "no second factor waiting")
		}
		return s.setRecoveryCodes(ctx, tx, collection, recordID, codes)
	})
	if err != nil {
		return fmt.Errorf("enable mfa: %w", err)
	}
	return nil
}

// UseMFAStep moves the last accepted step forward, or refuses a replay.
func (s *Store) UseMFAStep(ctx context.Context, collection, recordID string, step int64) error {
	b := &builder{d: s.d}
	b.sql("UPDATE _mfa SET last_step = ").arg(step).sql(" WHERE collection = ").arg(collection).
		sql(" AND record_id = ").arg(recordID).sql(" AND last_step < ").arg(step)
	n, err := s.writeOne(ctx, b)
	if err != nil {
		return fmt.Errorf("use mfa step: %w", err)
	}
	if n == 0 {
		return loam.Errorf(loam.CodeNotFound, "the code was used already")
	}
	return nil
}

// UseRecoveryCode deletes one recovery code.
func (s *Store) UseRecoveryCode(ctx context.Context, collection, recordID string, hash []byte) error {
	b := &builder{d: s.d}
	b.sql("DELETE FROM _mfa_recovery WHERE collection = ").arg(collection).sql(" AND record_id = ").arg(recordID).
		sql(" AND code_hash = ").arg(hash)
	n, err := s.writeOne(ctx, b)
	if err != nil {
		return fmt.Errorf("use recovery code: %w", err)
	}
	if n == 0 {
		return loam.Errorf(loam.CodeNotFound, "no such recovery code")
	}
	return nil
}

// SetRecoveryCodes replaces a record's recovery codes.
func (s *Store) SetRecoveryCodes(ctx context.Context, collection, recordID string, codes [][]byte) error {
	err := s.db.Write(ctx, WriteOptions{}, func(tx Querier) error {
		return s.setRecoveryCodes(ctx, tx, collection, recordID, codes)
	})
	if err != nil {
		return fmt.Errorf("set recovery codes: %w", err)
	}
	return nil
}

func (s *Store) setRecoveryCodes(ctx context.Context, tx Querier, collection, recordID string, codes [][]byte) error {
	b := &builder{d: s.d}
	b.sql("DELETE FROM _mfa_recovery WHERE collection = ").arg(collection).sql(" AND record_id = ").arg(recordID)
	if _, err := tx.Exec(ctx, b.String(), b.args...); err != nil {
		return err
	}
	for _, h := range codes {
		b := &builder{d: s.d}
		b.sql("INSERT INTO _mfa_recovery (collection, record_id, code_hash) VALUES (").arg(collection).sql(", ").
			arg(recordID).sql(", ").arg(h).sql(")")
		if _, err := tx.Exec(ctx, b.String(), b.args...); err != nil {
			return err
		}
	}
	return nil
}

// RecoveryCodesLeft counts a record's recovery codes.
func (s *Store) RecoveryCodesLeft(ctx context.Context, collection, recordID string) (int, error) {
	b := &builder{d: s.d}
	b.sql("SELECT count(*) FROM _mfa_recovery WHERE collection = ").arg(collection).sql(" AND record_id = ").arg(recordID)
	var n int64
	if err := queryRow(ctx, s.db, []any{&n}, b.String(), b.args...); err != nil {
		return 0, fmt.Errorf("count recovery codes: %w", err)
	}
	return int(n), nil
}

// DeleteMFA deletes a record's factor and recovery codes.
func (s *Store) DeleteMFA(ctx context.Context, collection, recordID string) error {
	err := s.db.Write(ctx, WriteOptions{}, func(tx Querier) error {
		return s.deleteAuthRows(ctx, tx, []string{"_mfa", "_mfa_recovery"}, "collection", collection, "record_id", recordID)
	})
	if err != nil {
		return fmt.Errorf("delete mfa: %w", err)
	}
	return nil
}

// recordAuthTables are the tables that hold rows of auth records: deleting
// the record, or its collection, deletes them; renaming the collection
// moves them.
var recordAuthTables = []string{"_sessions", "_api_keys", "_mfa", "_mfa_recovery", "_external_auths"}

// deleteAuthRows deletes the rows of tables whose col equals val (and,
// when given, col2 equals val2). The table and column names are constants
// of this package.
func (s *Store) deleteAuthRows(ctx context.Context, tx Querier, tables []string, col, val string, more ...string) error {
	for _, t := range tables {
		b := &builder{d: s.d}
		b.sql("DELETE FROM ", t, " WHERE ", col, " = ").arg(val)
		if len(more) == 2 {
			b.sql(" AND ", more[0], " = ").arg(more[1])
		}
		if _, err := tx.Exec(ctx, b.String(), b.args...); err != nil {
			return fmt.Errorf("delete from %s: %w", t, err)
		}
	}
	return nil
}
