package loam_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"loam"
	"loam/sqlstore"
)

// rawRows reads the given columns of every row of a table straight from the
// app's database, by column name, as the driver returns them.
func rawRows(t *testing.T, app *loam.App, table string, names ...string) []map[string]any {
	t.Helper()
	st, ok := app.Store().(interface{ DB() sqlstore.DB })
	if !ok {
		t.Fatalf("store %T does not expose its DB", app.Store())
	}
	quoted := make([]string, len(names))
	for i, n := range names {
		quoted[i] = `"` + n + `"`
	}
	query := "SELECT " + strings.Join(quoted, ", ") + ` FROM "` + table + `"`
	rows, err := st.DB().Query(context.Background(), query)
	if err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	defer rows.Close()
	var out []map[string]any
	for rows.Next() {
		vals := make([]any, len(names))
		dest := make([]any, len(names))
		for i := range vals {
			dest[i] = &vals[i]
		}
		if err := rows.Scan(dest...); err != nil {
			t.Fatalf("%s: scan: %v", query, err)
		}
		row := map[string]any{}
		for i, n := range names {
			row[n] = vals[i]
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		t.Fatalf("%s: %v", query, err)
	}
	return out
}

// rawText is a stored value as the bytes a reader of the database sees.
func rawText(v any) []byte {
	switch x := v.(type) {
	case nil:
		return nil
	case []byte:
		return x
	case string:
		return []byte(x)
	}
	return []byte(fmt.Sprint(v))
}

const argonPrefix = "$argon2id$v=19$m=19456,t=2,p=1$"

// Passwords are stored only as salted argon2id hashes, and session tokens
// only as their SHA-256: a copy of the database holds no usable secret.
func TestSecretsAtRest(t *testing.T) {
	t.Parallel()
	eachApp(t, func(t *testing.T, app *loam.App) {
		ctx := context.Background()
		const email, password = "root@example.com", "correct horse battery staple"
		rec, err := app.UpsertSuperuser(ctx, email, password)
		if err != nil {
			t.Fatalf("UpsertSuperuser: %v", err)
		}

		// The superusers table, as stored.
		users := rawRows(t, app, loam.SuperusersCollection, "id", "email", "emailVisibility", "verified", "password", "created", "updated")
		if len(users) != 1 || string(rawText(users[0]["id"])) != rec.ID {
			t.Fatalf("_superusers rows: %v, want the one superuser %s", users, rec.ID)
		}
		hash := string(rawText(users[0]["password"]))
		if !strings.HasPrefix(hash, argonPrefix) {
			t.Errorf("stored password %q does not start with %q", hash, argonPrefix)
		}
		// Salt and key, unpadded base64: 16 and 32 bytes.
		if parts := strings.Split(strings.TrimPrefix(hash, argonPrefix), "$"); len(parts) != 2 {
			t.Errorf("stored password %q: want salt$key after the parameters", hash)
		} else {
			salt, err1 := base64.RawStdEncoding.DecodeString(parts[0])
			key, err2 := base64.RawStdEncoding.DecodeString(parts[1])
			if err1 != nil || err2 != nil || len(salt) != 16 || len(key) != 32 {
				t.Errorf("stored password %q: salt %d bytes (%v), key %d bytes (%v); want 16 and 32", hash, len(salt), err1, len(key), err2)
			}
		}
		for col, v := range users[0] {
			if bytes.Contains(rawText(v), []byte(password)) {
				t.Errorf("column %s of _superusers holds the plaintext password", col)
			}
		}
		if !loam.CheckPassword(hash, password) {
			t.Error("CheckPassword rejects the password against the stored hash")
		}
		if loam.CheckPassword(hash, password+"!") || loam.CheckPassword(hash, "") {
			t.Error("CheckPassword accepts a wrong password against the stored hash")
		}
		// The store reads back the same hash, and the app hands out no plaintext.
		su := app.Schema().Collection(loam.SuperusersCollection)
		found, err := app.Store().FindRecord(ctx, su, "email", email)
		if err != nil {
			t.Fatalf("FindRecord: %v", err)
		}
		if found.Data["password"] != hash {
			t.Errorf("FindRecord password %v, want the stored hash %q", found.Data["password"], hash)
		}
		for field, v := range rec.Data {
			if s, _ := v.(string); strings.Contains(s, password) {
				t.Errorf("the record UpsertSuperuser returned holds the plaintext in %s", field)
			}
		}

		// Setting the same password again stores a fresh salt.
		if _, err := app.UpsertSuperuser(ctx, email, password); err != nil {
			t.Fatalf("UpsertSuperuser again: %v", err)
		}
		again := string(rawText(rawRows(t, app, loam.SuperusersCollection, "password")[0]["password"]))
		if again == hash || !strings.HasPrefix(again, argonPrefix) || !loam.CheckPassword(again, password) {
			t.Errorf("password hash after setting the same password again: %q (before %q); want a new salted hash that checks", again, hash)
		}

		// Sessions keep only the SHA-256 of the token.
		token, _, err := app.AuthWithPassword(ctx, loam.SuperusersCollection, email, password)
		if err != nil {
			t.Fatalf("AuthWithPassword: %v", err)
		}
		if token == "" {
			t.Fatal("AuthWithPassword returned an empty token")
		}
		sessions := rawRows(t, app, "_sessions", "id", "collection", "record_id", "token_hash", "created", "expires")
		if len(sessions) != 1 {
			t.Fatalf("_sessions holds %d rows, want the one session", len(sessions))
		}
		s := sessions[0]
		for col, v := range s {
			if bytes.Contains(rawText(v), []byte(token)) {
				t.Errorf("column %s of _sessions holds the token text", col)
			}
		}
		sum := sha256.Sum256([]byte(token))
		if got := rawText(s["token_hash"]); !bytes.Equal(got, sum[:]) || !bytes.Equal(got, loam.HashToken(token)) {
			t.Errorf("token_hash = %x, want sha256(token) = %x", got, sum)
		}
		if string(rawText(s["collection"])) != loam.SuperusersCollection || string(rawText(s["record_id"])) != rec.ID {
			t.Errorf("session row %v, want one of %s/%s", s, loam.SuperusersCollection, rec.ID)
		}
		// The token signs in; what the database holds does not.
		if p, err := app.Authenticate(ctx, token); err != nil || p.Record.ID != rec.ID {
			t.Errorf("Authenticate(token): %v", err)
		}
		for _, leaked := range []string{
			string(rawText(s["token_hash"])),
			base64.RawURLEncoding.EncodeToString(sum[:]),
			fmt.Sprintf("%x", sum),
		} {
			if _, err := app.Authenticate(ctx, leaked); loam.CodeOf(err) != loam.CodeUnauthenticated {
				t.Errorf("Authenticate with the stored hash %q: %v, want unauthenticated", leaked, err)
			}
		}
	})
}
