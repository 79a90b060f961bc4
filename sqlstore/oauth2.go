package sqlstore

import (
	"context"
	"fmt"

	"loam"
)

// CreateOAuth2State stores the state of a sign-in under way.
func (s *Store) CreateOAuth2State(ctx context.Context, st *loam.OAuth2State) error {
	b := &builder{d: s.d}
	b.sql("INSERT INTO _oauth2_states (state_hash, collection, provider, nonce, verifier, redirect, created, expires) VALUES (").
		arg(st.Hash).sql(", ").arg(st.Collection).sql(", ").arg(st.Provider).sql(", ").arg(st.Nonce).sql(", ").
		arg(st.Verifier).sql(", ").arg(st.Redirect).sql(", ").arg(s.d.EncodeTime(st.Created)).sql(", ").
		arg(s.d.EncodeTime(st.Expires)).sql(")")
	if _, err := s.writeOne(ctx, b); err != nil {
		return fmt.Errorf("create oauth2 state: %w", err)
	}
	return nil
}

// TakeOAuth2State deletes a state and returns it: one statement, so of two
// callers only one gets it.
func (s *Store) TakeOAuth2State(ctx context.Context, hash []byte) (*loam.OAuth2State, error) {
	b := &builder{d: s.d}
	b.sql("DELETE FROM _oauth2_states WHERE state_hash = ").arg(hash).
		sql(" RETURNING collection, provider, nonce, verifier, redirect, created, expires")
	var st *loam.OAuth2State
	err := s.db.Write(ctx, WriteOptions{}, func(tx Querier) error {
		x := &loam.OAuth2State{Hash: hash}
		var created, expires any
		err := queryRow(ctx, tx, []any{&x.Collection, &x.Provider, &x.Nonce, &x.Verifier, &x.Redirect, &created, &expires},
			b.String(), b.args...)
		if err == errNoRows {
			return nil
		}
		if err != nil {
			return err
		}
		if x.Created, err = asTime(created); err != nil {
			return err
		}
		if x.Expires, err = asTime(expires); err != nil {
			return err
		}
		st = x
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("take oauth2 state: %w", err)
	}
	if st == nil {
		return nil, loam.Errorf(loam.CodeNotFound, "no such state")
	}
	return st, nil
}

// CreateExternalAuth links a record to a provider's account.
func (s *Store) CreateExternalAuth(ctx context.Context, x *loam.ExternalAuth) error {
	b := &builder{d: s.d}
	b.sql("INSERT INTO _external_auths (id, collection, record_id, provider, subject, created) VALUES (").
		arg(x.ID).sql(", ").arg(x.Collection).sql(", ").arg(x.RecordID).sql(", ").arg(x.Provider).sql(", ").
		arg(x.Subject).sql(", ").arg(s.d.EncodeTime(x.Created)).sql(")")
	if _, err := s.writeOne(ctx, b); err != nil {
		if kind, _ := s.d.ConstraintError(err); kind == UniqueViolation {
			return &loam.Error{Code: loam.CodeConflict, Message: "this provider account is linked already", Err: err}
		}
		return fmt.Errorf("create external auth: %w", err)
	}
	return nil
}

// externalAuthColumns are the columns externalAuths reads.
const externalAuthColumns = "id, collection, record_id, provider, subject, created"

// ExternalAuth returns the link of one provider account.
func (s *Store) ExternalAuth(ctx context.Context, collection, provider, subject string) (*loam.ExternalAuth, error) {
	b := &builder{d: s.d}
	b.sql("SELECT ", externalAuthColumns, " FROM _external_auths WHERE collection = ").arg(collection).
		sql(" AND provider = ").arg(provider).sql(" AND subject = ").arg(subject)
	list, err := s.externalAuths(ctx, b)
	if err != nil {
		return nil, err
	}
	if len(list) == 0 {
		return nil, loam.Errorf(loam.CodeNotFound, "no such external auth")
	}
	return list[0], nil
}

// ExternalAuths returns the links of one record, oldest first.
func (s *Store) ExternalAuths(ctx context.Context, collection, recordID string) ([]*loam.ExternalAuth, error) {
	b := &builder{d: s.d}
	b.sql("SELECT ", externalAuthColumns, " FROM _external_auths WHERE collection = ").arg(collection).
		sql(" AND record_id = ").arg(recordID).sql(" ORDER BY created, id")
	return s.externalAuths(ctx, b)
}

func (s *Store) externalAuths(ctx context.Context, b *builder) ([]*loam.ExternalAuth, error) {
	rows, err := s.db.Query(ctx, b.String(), b.args...)
	if err != nil {
		return nil, fmt.Errorf("read external auths: %w", err)
	}
	defer rows.Close()
	var out []*loam.ExternalAuth
	for rows.Next() {
		var x loam.ExternalAuth
		var created any
		if err := rows.Scan(&x.ID, &x.Collection, &x.RecordID, &x.Provider, &x.Subject, &created); err != nil {
			return nil, fmt.Errorf("read external auths: %w", err)
		}
		if x.Created, err = asTime(created); err != nil {
			return nil, fmt.Errorf("read external auths: %w", err)
		}
		out = append(out, &x)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("read external auths: %w", err)
	}
	return out, nil
}

// DeleteExternalAuth deletes one link of a record.
func (s *Store) DeleteExternalAuth(ctx context.Context, collection, recordID, id string) error {
	b := &builder{d: s.d}
	b.sql("DELETE FROM _external_auths WHERE id = ").arg(id).sql(" AND collection = ").arg(collection).
		sql(" AND record_id = ").arg(recordID)
	n, err := s.writeOne(ctx, b)
	if err != nil {
		return fmt.Errorf("delete external auth: %w", err)
	}
	if n == 0 {
		return loam.Errorf(loam.CodeNotFound, "no such external auth")
	}
	return nil
}
