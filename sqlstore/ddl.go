package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"loam"
)

// Collections loads every collection definition and the schema version.
func (s *Store) Collections(ctx context.Context) ([]*loam.Collection, int64, error) {
	// Read both in one write-path snapshot would block writers; two reads are
	// fine because the version only grows: a caller that sees an old version
	// reloads again later.
	version, err := schemaVersion(ctx, s.db)
	if err != nil {
		return nil, 0, err
	}
	out, err := definitions(ctx, s.db)
	if err != nil {
		return nil, 0, fmt.Errorf("load collections: %w", err)
	}
	for _, c := range out {
		if err := c.Validate(); err != nil {
			return nil, 0, fmt.Errorf("load collection %s: %w", c.Name, err)
		}
	}
	owner := s
	if s.parent != nil {
		owner = s.parent
	}
	if owner.seen.Swap(version) != version {
		owner.schemaChanged() // possibly changed by another instance
	}
	return out, version, nil
}

// CreateCollection creates the table, its indexes and the catalogue row.
func (s *Store) CreateCollection(ctx context.Context, c *loam.Collection) error {
	err := s.db.Write(ctx, WriteOptions{}, func(tx Querier) error {
		if err := s.d.LockSchema(ctx, tx); err != nil {
			return err
		}
		if taken, err := s.nameTaken(ctx, tx, c.Name, ""); err != nil {
			return err
		} else if taken {
			return &loam.Error{Code: loam.CodeConflict, Message: fmt.Sprintf("a collection named %q exists", c.Name),
				Fields: map[string]loam.FieldError{"name": {Code: loam.FieldUnique, Message: "is taken"}}}
		}
		if _, err := tx.Exec(ctx, s.createTableSQL(c, c.Name)); err != nil {
			return fmt.Errorf("create table: %w", err)
		}
		if err := s.createIndexes(ctx, tx, c); err != nil {
			return err
		}
		def, err := c.MarshalStored()
		if err != nil {
			return fmt.Errorf("encode collection: %w", err)
		}
		b := &builder{d: s.d}
		b.sql(`INSERT INTO _collections (id, name, definition, created, updated) VALUES (`).
			arg(c.ID).sql(", ").arg(c.Name).sql(", ").arg(string(def)).sql(", ").
			arg(s.d.EncodeTime(c.Created)).sql(", ").arg(s.d.EncodeTime(c.Updated)).sql(")")
		if _, err := tx.Exec(ctx, b.String(), b.args...); err != nil {
			return fmt.Errorf("insert collection: %w", err)
		}
		return s.schemaChangedIn(ctx, tx)
	})
	s.schemaChanged() // also after a failure: DDL may have run before the rollback
	if err != nil {
		return fmt.Errorf("create collection %s: %w", c.Name, err)
	}
	return nil
}

func (s *Store) nameTaken(ctx context.Context, tx Querier, name, exceptID string) (bool, error) {
	var n int64
	b := &builder{d: s.d}
	b.sql(`SELECT count(*) FROM _collections WHERE lower(name) = lower(`).arg(name).sql(`) AND id <> `).arg(exceptID)
	if err := queryRow(ctx, tx, []any{&n}, b.String(), b.args...); err != nil {
		return false, fmt.Errorf("check collection name: %w", err)
	}
	return n > 0, nil
}

// createTableSQL is the CREATE TABLE statement of c under the given table name.
func (s *Store) createTableSQL(c *loam.Collection, table string) string {
	var sb strings.Builder
	sb.WriteString("CREATE TABLE ")
	sb.WriteString(quote(table))
	sb.WriteString(" (\n  id ")
	sb.WriteString(s.d.IDType())
	sb.WriteString(" NOT NULL CONSTRAINT ")
	sb.WriteString(quote(primaryKeyName(c)))
	sb.WriteString(" PRIMARY KEY,\n  created ")
	sb.WriteString(s.d.TimeType())
	sb.WriteString(" NOT NULL,\n  updated ")
	sb.WriteString(s.d.TimeType())
	sb.WriteString(" NOT NULL")
	for i := range c.Fields {
		sb.WriteString(",\n  ")
		sb.WriteString(s.columnDef(c, &c.Fields[i]))
	}
	sb.WriteString("\n)")
	return sb.String()
}

// columnDef is one column's definition, with its foreign key for a single relation.
func (s *Store) columnDef(c *loam.Collection, f *loam.Field) string {
	def := quote(f.Name) + " " + s.d.ColumnType(f)
	if f.Type == loam.TypeRelation && !f.Multiple {
		def += " CONSTRAINT " + quote(foreignKeyName(c, f)) + " REFERENCES " + quote(f.Collection) + " (id) ON DELETE " + onDeleteSQL(f.OnDelete)
	}
	return def
}

func onDeleteSQL(mode string) string {
	switch mode {
	case loam.OnDeleteCascade:
		return "CASCADE"
	case loam.OnDeleteRestrict:
		return "RESTRICT"
	}
	return "SET NULL"
}

// indexDefs lists the CREATE INDEX statements of a collection, by index name.
func (s *Store) indexDefs(c *loam.Collection) map[string]string {
	out := map[string]string{}
	table := quote(c.Name)
	for i := range c.Fields {
		f := &c.Fields[i]
		if f.Unique && c.FoldsCase(f) {
			out[foldedIndexName(c, f)] = "CREATE UNIQUE INDEX " + quote(foldedIndexName(c, f)) + " ON " + table + " (lower(" + quote(f.Name) + "))"
		} else if f.Unique {
			out[uniqueIndexName(c, f)] = "CREATE UNIQUE INDEX " + quote(uniqueIndexName(c, f)) + " ON " + table + " (" + s.d.IndexColumn(quote(f.Name)) + ")"
		}
		if f.Type == loam.TypeRelation && !f.Multiple && !f.Unique {
			out[relationIndexName(c, f)] = "CREATE INDEX " + quote(relationIndexName(c, f)) + " ON " + table + " (" + s.d.IndexColumn(quote(f.Name)) + ")"
		}
	}
	for i := range c.Indexes {
		ix := &c.Indexes[i]
		cols := make([]string, len(ix.Fields))
		for j, n := range ix.Fields {
			cols[j] = s.d.IndexColumn(quote(n))
		}
		kind := "CREATE INDEX "
		if ix.Unique {
			kind = "CREATE UNIQUE INDEX "
		}
		name := collectionIndexName(c, ix)
		out[name] = kind + quote(name) + " ON " + table + " (" + strings.Join(cols, ", ") + ")"
	}
	return out
}

func (s *Store) createIndexes(ctx context.Context, tx Querier, c *loam.Collection) error {
	for _, stmt := range s.indexDefs(c) {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return s.schemaConstraintError(c, fmt.Errorf("create index: %w", err))
		}
	}
	return nil
}

// schemaConstraintError turns a unique violation met while building an index
// into a conflict naming the field.
func (s *Store) schemaConstraintError(c *loam.Collection, err error) error {
	kind, constraint := s.d.ConstraintError(err)
	if kind != UniqueViolation {
		return err
	}
	field := fieldOfConstraint(c, constraint)
	e := &loam.Error{Code: loam.CodeConflict, Message: "existing records violate the change", Err: err}
	if field != "" {
		e.Fields = map[string]loam.FieldError{field: {Code: loam.FieldUnique, Message: "existing records hold duplicate values"}}
	}
	return e
}

// DeleteCollection drops the table and its catalogue row.
func (s *Store) DeleteCollection(ctx context.Context, c *loam.Collection) error {
	// No other collection may point here (checked below), so the only keys
	// the drop touches are the table's own: with them off, SQLite's implicit
	// DELETE before DROP TABLE cannot trip over self-references.
	err := s.db.Write(ctx, WriteOptions{ForeignKeysOff: true}, func(tx Querier) error {
		if err := s.d.LockSchema(ctx, tx); err != nil {
			return err
		}
		if refs, err := s.referencingCollections(ctx, tx, c); err != nil {
			return err
		} else if len(refs) > 0 {
			return &loam.Error{Code: loam.CodeConflict, Message: "relations point at " + c.Name + ": " + strings.Join(refs, ", ")}
		}
		if _, err := tx.Exec(ctx, "DROP TABLE "+quote(c.Name)); err != nil {
			if kind, _ := s.d.ConstraintError(err); kind == ForeignKeyViolation {
				return &loam.Error{Code: loam.CodeConflict, Message: "other records reference this collection", Err: err}
			}
			return fmt.Errorf("drop table: %w", err)
		}
		b := &builder{d: s.d}
		b.sql(`DELETE FROM _collections WHERE id = `).arg(c.ID)
		if _, err := tx.Exec(ctx, b.String(), b.args...); err != nil {
			return fmt.Errorf("delete collection row: %w", err)
		}
		if err := s.deleteAuthRows(ctx, tx, recordAuthTables, "collection", c.Name); err != nil {
			return err
		}
		return s.schemaChangedIn(ctx, tx)
	})
	s.schemaChanged() // also after a failure: DDL may have run before the rollback
	if err != nil {
		return fmt.Errorf("delete collection %s: %w", c.Name, err)
	}
	return nil
}

// referencingCollections names the relation fields of other collections that target c.
func (s *Store) referencingCollections(ctx context.Context, tx Querier, c *loam.Collection) ([]string, error) {
	all, err := definitions(ctx, tx)
	if err != nil {
		return nil, fmt.Errorf("read collections: %w", err)
	}
	var refs []string
	for _, other := range all {
		if other.ID == c.ID {
			continue
		}
		for _, f := range other.Fields {
			if f.Type == loam.TypeRelation && f.Collection == c.Name {
				refs = append(refs, other.Name+"."+f.Name)
			}
		}
	}
	return refs, nil
}

// UpdateCollection alters the table from old to new, keeping the data.
func (s *Store) UpdateCollection(ctx context.Context, old, new *loam.Collection) error {
	rebuild := s.d.RebuildToAlter() && columnsChanged(old, new)
	err := s.db.Write(ctx, WriteOptions{ForeignKeysOff: rebuild}, func(tx Querier) error {
		if err := s.d.LockSchema(ctx, tx); err != nil {
			return err
		}
		if err := s.checkUnchanged(ctx, tx, old); err != nil {
			return err
		}
		if new.Name != old.Name {
			if taken, err := s.nameTaken(ctx, tx, new.Name, old.ID); err != nil {
				return err
			} else if taken {
				return &loam.Error{Code: loam.CodeConflict, Message: fmt.Sprintf("a collection named %q exists", new.Name),
					Fields: map[string]loam.FieldError{"name": {Code: loam.FieldUnique, Message: "is taken"}}}
			}
		}
		if err := s.checkChange(ctx, tx, old, new); err != nil {
			return err
		}
		for name := range s.indexDefs(old) {
			if _, err := tx.Exec(ctx, "DROP INDEX IF EXISTS "+quote(name)); err != nil {
				return fmt.Errorf("drop index: %w", err)
			}
		}
		if new.Name != old.Name {
			if err := s.renameTable(ctx, tx, old, new); err != nil {
				return err
			}
		}
		var err error
		if rebuild {
			err = s.rebuildTable(ctx, tx, old, new)
		} else {
			err = s.alterTable(ctx, tx, old, new)
		}
		if err != nil {
			return err
		}
		if err := s.createIndexes(ctx, tx, new); err != nil {
			return err
		}
		def, err := new.MarshalStored()
		if err != nil {
			return fmt.Errorf("encode collection: %w", err)
		}
		b := &builder{d: s.d}
		b.sql(`UPDATE _collections SET name = `).arg(new.Name).sql(`, definition = `).arg(string(def)).
			sql(`, updated = `).arg(s.d.EncodeTime(new.Updated)).sql(` WHERE id = `).arg(old.ID)
		if n, err := tx.Exec(ctx, b.String(), b.args...); err != nil {
			return fmt.Errorf("update collection row: %w", err)
		} else if n == 0 {
			return loam.Errorf(loam.CodeNotFound, "collection %q not found", old.Name)
		}
		return s.schemaChangedIn(ctx, tx)
	})
	s.schemaChanged() // also after a failure: DDL may have run before the rollback
	if err != nil {
		return fmt.Errorf("update collection %s: %w", old.Name, err)
	}
	return nil
}

// checkUnchanged refuses a change computed from a definition that another
// instance has since replaced: applying it would silently undo theirs.
func (s *Store) checkUnchanged(ctx context.Context, tx Querier, old *loam.Collection) error {
	var def string
	b := &builder{d: s.d}
	b.sql(`SELECT definition FROM _collections WHERE id = `).arg(old.ID)
	if err := queryRow(ctx, tx, []any{&def}, b.String(), b.args...); err == errNoRows {
		return loam.Errorf(loam.CodeNotFound, "collection %q not found", old.Name)
	} else if err != nil {
		return fmt.Errorf("read collection: %w", err)
	}
	stored := &loam.Collection{}
	if err := json.Unmarshal([]byte(def), stored); err != nil {
		return fmt.Errorf("decode collection: %w", err)
	}
	if !stored.Updated.Equal(old.Updated) || stored.Name != old.Name {
		return loam.Errorf(loam.CodeConflict, "collection %q was changed meanwhile; read it again and retry", old.Name)
	}
	return nil
}

// renameTable renames a collection's table, moving its sessions and the
// relations that point at it. A rename that changes only letter case goes
// through a temporary name: SQLite sees the two names as one.
func (s *Store) renameTable(ctx context.Context, tx Querier, old, new *loam.Collection) error {
	from := old.Name
	if strings.EqualFold(old.Name, new.Name) {
		tmp := "_loam_rename_" + old.ID
		if _, err := tx.Exec(ctx, "ALTER TABLE "+quote(from)+" RENAME TO "+quote(tmp)); err != nil {
			return fmt.Errorf("rename table: %w", err)
		}
		from = tmp
	}
	if _, err := tx.Exec(ctx, "ALTER TABLE "+quote(from)+" RENAME TO "+quote(new.Name)); err != nil {
		return fmt.Errorf("rename table: %w", err)
	}
	for _, t := range recordAuthTables {
		b := &builder{d: s.d}
		b.sql(`UPDATE `, t, ` SET collection = `).arg(new.Name).sql(` WHERE collection = `).arg(old.Name)
		if _, err := tx.Exec(ctx, b.String(), b.args...); err != nil {
			return fmt.Errorf("move the rows of %s: %w", t, err)
		}
	}
	return s.retargetRelations(ctx, tx, old.Name, new.Name)
}

// retargetRelations rewrites the definitions of collections whose relations
// point at a renamed collection.
func (s *Store) retargetRelations(ctx context.Context, tx Querier, from, to string) error {
	all, err := definitions(ctx, tx)
	if err != nil {
		return fmt.Errorf("read collections: %w", err)
	}
	for _, c := range all {
		changed := false
		for i := range c.Fields {
			if c.Fields[i].Type == loam.TypeRelation && c.Fields[i].Collection == from {
				c.Fields[i].Collection = to
				changed = true
			}
		}
		if !changed {
			continue
		}
		def, err := c.MarshalStored()
		if err != nil {
			return fmt.Errorf("encode collection: %w", err)
		}
		b := &builder{d: s.d}
		b.sql(`UPDATE _collections SET definition = `).arg(string(def)).sql(` WHERE id = `).arg(c.ID)
		if _, err := tx.Exec(ctx, b.String(), b.args...); err != nil {
			return fmt.Errorf("retarget relations: %w", err)
		}
	}
	return nil
}

// definitions decodes every stored collection definition, by name. They
// are not validated: the schema-change paths only read them.
func definitions(ctx context.Context, q Querier) ([]*loam.Collection, error) {
	rows, err := q.Query(ctx, `SELECT definition FROM _collections ORDER BY name`)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*loam.Collection
	for rows.Next() {
		var def string
		if err := rows.Scan(&def); err != nil {
			return nil, err
		}
		c := &loam.Collection{}
		if err := json.Unmarshal([]byte(def), c); err != nil {
			return nil, fmt.Errorf("decode collection: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// columnsChanged reports whether the set of columns or their foreign keys differ.
func columnsChanged(old, new *loam.Collection) bool {
	if len(old.Fields) != len(new.Fields) {
		return true
	}
	for i := range new.Fields {
		n := &new.Fields[i]
		o := old.FieldByID(n.ID)
		if o == nil || o.Name != n.Name || o.Type != n.Type || o.Multiple != n.Multiple || o.Integer != n.Integer ||
			o.Collection != n.Collection || o.OnDelete != n.OnDelete {
			return true
		}
	}
	return false
}

// checkChange refuses a change that existing rows would violate, naming the field.
func (s *Store) checkChange(ctx context.Context, tx Querier, old, new *loam.Collection) error {
	table := quote(old.Name)
	conflict := func(field, code, msg string) error {
		return &loam.Error{Code: loam.CodeConflict, Message: "existing records violate the change",
			Fields: map[string]loam.FieldError{field: {Code: code, Message: msg}}}
	}
	var rowCount int64 = -1
	count := func() (int64, error) {
		if rowCount < 0 {
			if err := queryRow(ctx, tx, []any{&rowCount}, "SELECT count(*) FROM "+table); err != nil {
				return 0, fmt.Errorf("count rows: %w", err)
			}
		}
		return rowCount, nil
	}
	for i := range new.Fields {
		n := &new.Fields[i]
		o := old.FieldByID(n.ID)
		if o == nil {
			var def any // the default as stored: "" and the like become no value
			if len(n.Default) > 0 {
				def, _ = n.Normalize(n.Default)
			}
			if n.Required && loam.IsEmpty(def) {
				if c, err := count(); err != nil {
					return err
				} else if c > 0 {
					return conflict(n.Name, loam.FieldRequired, "existing records have no value for the new required field; give it a non-empty default")
				}
			}
			if n.Unique && def != nil {
				if c, err := count(); err != nil {
					return err
				} else if c > 1 {
					return conflict(n.Name, loam.FieldUnique, "every existing record would get the same default")
				}
			}
			continue
		}
		if constraintsChanged(o, n) {
			if err := s.checkValues(ctx, tx, old.Name, o, n); err != nil {
				return err
			}
		}
		col := quote(o.Name)
		if n.Required && !o.Required {
			var empty int64
			if err := queryRow(ctx, tx, []any{&empty}, "SELECT count(*) FROM "+table+" WHERE "+s.emptyCondition(o, col)); err != nil {
				return fmt.Errorf("check required: %w", err)
			}
			if empty > 0 {
				return conflict(n.Name, loam.FieldRequired, fmt.Sprintf("%d existing records have no value", empty))
			}
		}
		if n.Unique && !o.Unique {
			var dup int64
			q := "SELECT count(*) FROM (SELECT " + col + " FROM " + table + " WHERE " + col + " IS NOT NULL GROUP BY " + col + " HAVING count(*) > 1) d"
			if err := queryRow(ctx, tx, []any{&dup}, q); err != nil {
				return fmt.Errorf("check unique: %w", err)
			}
			if dup > 0 {
				return conflict(n.Name, loam.FieldUnique, "existing records hold duplicate values")
			}
		}
	}
	oldIdx := map[string]bool{}
	for _, ix := range old.Indexes {
		if ix.Unique {
			oldIdx[strings.Join(ix.Fields, "\x00")] = true
		}
	}
	for _, ix := range new.Indexes {
		if !ix.Unique || oldIdx[strings.Join(ix.Fields, "\x00")] {
			continue
		}
		var cols, notNull []string
		for _, name := range ix.Fields {
			col := quote(name)
			if f := new.Field(name); f != nil {
				if o := old.FieldByID(f.ID); o != nil {
					col = quote(o.Name)
				} else {
					continue // a new column holds only NULLs or one default
				}
			}
			cols = append(cols, col)
			notNull = append(notNull, col+" IS NOT NULL")
		}
		if len(cols) == 0 {
			continue
		}
		var dup int64
		q := "SELECT count(*) FROM (SELECT 1 FROM " + table + " WHERE " + strings.Join(notNull, " AND ") +
			" GROUP BY " + strings.Join(cols, ", ") + " HAVING count(*) > 1) d"
		if err := queryRow(ctx, tx, []any{&dup}, q); err != nil {
			return fmt.Errorf("check unique index: %w", err)
		}
		if dup > 0 {
			return conflict(strings.Join(ix.Fields, ","), loam.FieldUnique, "existing records hold duplicate values for index "+ix.Name)
		}
	}
	return nil
}

// constraintsChanged reports whether a field's value constraints differ, so
// that stored values must be checked against the new ones.
func constraintsChanged(o, n *loam.Field) bool {
	if n.Type == loam.TypePassword || n.Type == loam.TypeAutodate {
		return false
	}
	eq := func(a, b *float64) bool { return a == nil && b == nil || a != nil && b != nil && *a == *b }
	return !eq(o.Min, n.Min) || !eq(o.Max, n.Max) || o.Pattern != n.Pattern || !slices.Equal(o.Values, n.Values)
}

// checkValues reads every stored value of a field and refuses the change,
// naming the field, if one of them breaks the new definition n. It reads the
// whole column: schema changes are rare, and one check for every constraint
// on both databases beats a SQL translation of each.
func (s *Store) checkValues(ctx context.Context, tx Querier, table string, o, n *loam.Field) error {
	col := quote(o.Name)
	rows, err := tx.Query(ctx, "SELECT "+s.d.SelectColumn(o, col)+" FROM "+quote(table)+" WHERE "+col+" IS NOT NULL")
	if err != nil {
		return fmt.Errorf("check values of %s: %w", n.Name, err)
	}
	defer rows.Close()
	for rows.Next() {
		var raw any
		if err := rows.Scan(&raw); err != nil {
			return fmt.Errorf("check values of %s: %w", n.Name, err)
		}
		v, err := decodeValue(o, raw)
		if err != nil {
			return fmt.Errorf("check values of %s: %w", n.Name, err)
		}
		if _, fe := n.Normalize(loam.ValueJSON(v)); fe != nil {
			return &loam.Error{Code: loam.CodeConflict, Message: "existing records violate the change",
				Fields: map[string]loam.FieldError{n.Name: {Code: fe.Code, Message: "an existing record's value " + fe.Message}}}
		}
	}
	return rows.Err()
}

// emptyCondition is true where a column holds no value in the sense of required.
func (s *Store) emptyCondition(f *loam.Field, col string) string {
	switch f.Type {
	case loam.TypeText, loam.TypeEmail, loam.TypeURL, loam.TypePassword, loam.TypeRelation, loam.TypeSelect:
		if f.MultiValued() {
			return col + " IS NULL OR " + s.d.ListEmpty(col)
		}
		return col + " IS NULL OR " + col + " = ''"
	case loam.TypeBool:
		return col + " IS NULL OR " + col + " = " + s.d.BoolLiteral(false)
	}
	return col + " IS NULL"
}

// alterTable changes columns in place (PostgreSQL). Drops come first and
// renames go through temporary names, so swapping two names, or reusing a
// dropped or renamed field's name, never meets a name still in use.
func (s *Store) alterTable(ctx context.Context, tx Querier, old, new *loam.Collection) error {
	table := quote(new.Name)
	exec := func(stmt string) error {
		if _, err := tx.Exec(ctx, stmt); err != nil {
			return fmt.Errorf("alter table: %w", err)
		}
		return nil
	}
	for i := range old.Fields {
		o := &old.Fields[i]
		if new.FieldByID(o.ID) == nil {
			if err := exec("ALTER TABLE " + table + " DROP COLUMN " + quote(o.Name)); err != nil {
				return err
			}
		}
	}
	var renamed []*loam.Field
	for i := range new.Fields {
		n := &new.Fields[i]
		if o := old.FieldByID(n.ID); o != nil && o.Name != n.Name {
			if err := exec("ALTER TABLE " + table + " RENAME COLUMN " + quote(o.Name) + " TO " + quote("_loam_tmp_"+n.ID)); err != nil {
				return err
			}
			renamed = append(renamed, n)
		}
	}
	for _, n := range renamed {
		if err := exec("ALTER TABLE " + table + " RENAME COLUMN " + quote("_loam_tmp_"+n.ID) + " TO " + quote(n.Name)); err != nil {
			return err
		}
	}
	for i := range new.Fields {
		n := &new.Fields[i]
		o := old.FieldByID(n.ID)
		if o == nil {
			if err := exec("ALTER TABLE " + table + " ADD COLUMN " + s.columnDef(new, n)); err != nil {
				return err
			}
			if err := s.fillDefault(ctx, tx, table, n); err != nil {
				return err
			}
			continue
		}
		if n.Type == loam.TypeRelation && !n.Multiple && o.OnDelete != n.OnDelete {
			fk := quote(foreignKeyName(new, n))
			if err := exec("ALTER TABLE " + table + " DROP CONSTRAINT " + fk); err != nil {
				return err
			}
			if err := exec("ALTER TABLE " + table + " ADD CONSTRAINT " + fk + " FOREIGN KEY (" + quote(n.Name) + ") REFERENCES " +
				quote(n.Collection) + " (id) ON DELETE " + onDeleteSQL(n.OnDelete)); err != nil {
				return err
			}
		}
	}
	return nil
}

// fillDefault gives existing rows a new field's default value.
func (s *Store) fillDefault(ctx context.Context, tx Querier, table string, f *loam.Field) error {
	if len(f.Default) == 0 {
		return nil
	}
	v, fe := f.Normalize(f.Default)
	if fe != nil {
		return loam.Errorf(loam.CodeInvalidSchema, "default of %s: %s", f.Name, fe.Message)
	}
	if v == nil {
		return nil
	}
	b := &builder{d: s.d}
	b.sql("UPDATE ", table, " SET ", quote(f.Name), " = ").arg(s.d.Encode(f, v))
	if _, err := tx.Exec(ctx, b.String(), b.args...); err != nil {
		return fmt.Errorf("fill default of %s: %w", f.Name, err)
	}
	return nil
}

// rebuildTable recreates the table with the new columns and copies the rows
// (SQLite). The caller runs it with foreign keys off and checks them before commit.
func (s *Store) rebuildTable(ctx context.Context, tx Querier, old, new *loam.Collection) error {
	tmp := "_loam_rebuild_" + new.ID
	if _, err := tx.Exec(ctx, s.createTableSQL(new, tmp)); err != nil {
		return fmt.Errorf("rebuild: create: %w", err)
	}
	dst := []string{"id", "created", "updated"}
	src := []string{"id", "created", "updated"}
	b := &builder{d: s.d}
	for i := range new.Fields {
		n := &new.Fields[i]
		if o := old.FieldByID(n.ID); o != nil {
			dst = append(dst, quote(n.Name))
			src = append(src, quote(o.Name))
		}
	}
	b.sql("INSERT INTO ", quote(tmp), " (", strings.Join(dst, ", "), ") SELECT ", strings.Join(src, ", "), " FROM ", quote(new.Name))
	if _, err := tx.Exec(ctx, b.String(), b.args...); err != nil {
		return fmt.Errorf("rebuild: copy: %w", err)
	}
	if _, err := tx.Exec(ctx, "DROP TABLE "+quote(new.Name)); err != nil {
		return fmt.Errorf("rebuild: drop: %w", err)
	}
	if _, err := tx.Exec(ctx, "ALTER TABLE "+quote(tmp)+" RENAME TO "+quote(new.Name)); err != nil {
		return fmt.Errorf("rebuild: rename: %w", err)
	}
	for i := range new.Fields {
		n := &new.Fields[i]
		if old.FieldByID(n.ID) == nil {
			if err := s.fillDefault(ctx, tx, quote(new.Name), n); err != nil {
				return err
			}
		}
	}
	return nil
}
