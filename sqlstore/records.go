package sqlstore

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"loam"
	"loam/expr"
)

// GetRecord returns one record or loam.ErrNotFound.
func (s *Store) GetRecord(ctx context.Context, c *loam.Collection, id string) (*loam.Record, error) {
	return s.getRecord(ctx, s.db, c, id)
}

func (s *Store) getRecord(ctx context.Context, q Querier, c *loam.Collection, id string) (*loam.Record, error) {
	rows, err := q.Query(ctx, s.sqlFor(c).get, id)
	if err != nil {
		return nil, fmt.Errorf("get record: %w", err)
	}
	recs, err := scanRecords(c, rows)
	if err != nil {
		return nil, fmt.Errorf("get record: %w", err)
	}
	if len(recs) == 0 {
		return nil, loam.Errorf(loam.CodeNotFound, "record %q not found in %s", id, c.Name)
	}
	return recs[0], nil
}

// FindRecord returns the first record whose field equals value.
func (s *Store) FindRecord(ctx context.Context, c *loam.Collection, field string, value any) (*loam.Record, error) {
	f := c.Field(field)
	if f == nil {
		return nil, loam.Errorf(loam.CodeInvalidQuery, "unknown field %q", field)
	}
	b := &builder{d: s.d}
	if str, ok := value.(string); ok && c.FoldsCase(f) {
		b.sql(s.sqlFor(c).selectFrom, " WHERE lower(", quote(f.Name), ") = ").arg(loam.FoldEmail(str))
	} else {
		b.sql(s.sqlFor(c).selectFrom, " WHERE ", quote(f.Name), " = ").arg(s.d.Encode(f, value))
	}
	b.sql(" ORDER BY id LIMIT 1")
	rows, err := s.db.Query(ctx, b.String(), b.args...)
	if err != nil {
		return nil, fmt.Errorf("find record: %w", err)
	}
	recs, err := scanRecords(c, rows)
	if err != nil {
		return nil, fmt.Errorf("find record: %w", err)
	}
	if len(recs) == 0 {
		return nil, loam.Errorf(loam.CodeNotFound, "no record in %s with that %s", c.Name, field)
	}
	return recs[0], nil
}

// RecordsWhereIn returns the records of c whose field holds one of values
// and that meet where (nil: all), ordered by id, in one statement (the set
// is one parameter). With perValue,
// the records of each value are numbered by id in a window and only the
// first perValue are kept; the window reads ids only, and the outer select
// reads the whole rows of the ids kept.
func (s *Store) RecordsWhereIn(ctx context.Context, c *loam.Collection, field string, values []string, perValue int, where expr.Cond) ([]*loam.Record, error) {
	var f *loam.Field
	if field != loam.ColID {
		if f = c.Field(field); f == nil || f.Type != loam.TypeRelation {
			return nil, loam.Errorf(loam.CodeInvalidQuery, "%s has no relation field %q", c.Name, field)
		}
	}
	if len(values) == 0 {
		return nil, nil
	}
	table := quote(c.Name)
	b := &builder{d: s.d}
	b.sql(s.sqlFor(c).selectFrom, " AS t WHERE ")
	set := func() string {
		b.args = append(b.args, s.d.SetParam(values))
		return s.d.Placeholder(len(b.args))
	}
	switch {
	case f != nil && f.Multiple:
		// One row per list element in the set; aliases start with _, which
		// no collection or field name may, so they never clash with ours.
		elems, value := s.d.ListElements("_r."+quote(f.Name), "_e")
		from := table + " AS _r, " + elems
		if perValue > 0 {
			b.sql("id IN (SELECT id FROM (SELECT _r.id AS id, row_number() OVER (PARTITION BY ", value, " ORDER BY _r.id) AS _n FROM ",
				from, " WHERE ", s.d.InSet(value, set()), ") _w WHERE _n <= ").arg(perValue).sql(")")
		} else {
			b.sql("id IN (SELECT _r.id FROM ", from, " WHERE ", s.d.InSet(value, set()), ")")
		}
	case f != nil && perValue > 0:
		col := quote(f.Name)
		b.sql("id IN (SELECT id FROM (SELECT id, row_number() OVER (PARTITION BY ", col, " ORDER BY id) AS _n FROM ",
			table, " WHERE ", s.d.InSet(col, set()), ") _w WHERE _n <= ").arg(perValue).sql(")")
	case f != nil:
		b.sql(s.d.InSet(quote(f.Name), set()))
	default:
		b.sql(s.d.InSet("id", set()))
	}
	if where != nil {
		b.sql(" AND ")
		compileFilter(s.d, b, where)
	}
	b.sql(" ORDER BY id")
	rows, err := s.db.Query(ctx, b.String(), b.args...)
	if err != nil {
		return nil, fmt.Errorf("records of %s where %s in set: %w", c.Name, field, err)
	}
	recs, err := scanRecords(c, rows)
	if err != nil {
		return nil, fmt.Errorf("records of %s where %s in set: %w", c.Name, field, err)
	}
	return recs, nil
}

// ListRecords returns a page of records that meet q.Where, in the requested
// order (id breaks ties).
func (s *Store) ListRecords(ctx context.Context, c *loam.Collection, q loam.RecordQuery) (*loam.RecordList, error) {
	q = pageDefaults(q)
	b, keys, random, err := s.listSQL(c, q)
	if err != nil {
		return nil, err
	}
	rows, err := s.db.Query(ctx, b.String(), b.args...)
	if err != nil {
		return nil, fmt.Errorf("list records: %w", err)
	}
	items, err := scanRecords(c, rows)
	if err != nil {
		return nil, fmt.Errorf("list records: %w", err)
	}
	list := &loam.RecordList{Items: items, Page: q.Page, PerPage: q.PerPage, TotalItems: -1}
	if q.After != nil {
		list.Page = -1 // a cursor's page has no number
	}
	if len(items) == q.PerPage && !random {
		if list.Next, err = s.position(ctx, c, keys, items[len(items)-1]); err != nil {
			return nil, err
		}
	}
	if !q.SkipTotal {
		b := &builder{d: s.d}
		b.sql("SELECT count(*) FROM ", quote(c.Name), " AS t")
		if q.Where != nil {
			b.sql(" WHERE ")
			compileFilter(s.d, b, q.Where)
		}
		if err := queryRow(ctx, s.db, []any{&list.TotalItems}, b.String(), b.args...); err != nil {
			return nil, fmt.Errorf("count records: %w", err)
		}
	}
	return list, nil
}

// pageDefaults fills in the page and page size a query leaves out.
func pageDefaults(q loam.RecordQuery) loam.RecordQuery {
	if q.PerPage <= 0 {
		q.PerPage = 30
	}
	if q.Page <= 0 {
		q.Page = 1
	}
	return q
}

// listSQL builds the statement that reads a page of ListRecords, and
// returns the sort keys it orders by and whether one is random.
func (s *Store) listSQL(c *loam.Collection, q loam.RecordQuery) (b *builder, keys []sortKey, random bool, err error) {
	// The sort keys come first: a key through relations may carry the
	// caller's view rule, whose parameters join the statement's.
	b = &builder{d: s.d}
	keys, err = s.sortKeys(c, q.Sort, b)
	if err != nil {
		return nil, nil, false, err
	}
	var order []string
	idSorted := false
	for _, k := range keys {
		idSorted = idSorted || k.sql == "t.id"
		random = random || k.random
		order = append(order, s.d.OrderBy(k.sql, k.desc))
	}
	if !idSorted {
		order = append(order, "t.id") // ties break by id: pages never overlap
	}
	orderBy := " ORDER BY " + strings.Join(order, ", ")
	offset := (q.Page - 1) * q.PerPage
	if q.After != nil {
		offset = 0
	}
	from := " FROM " + quote(c.Name) + " AS t"
	where := func(b *builder) {
		if q.Where == nil && q.After == nil {
			return
		}
		b.sql(" WHERE ")
		if q.Where != nil {
			compileFilter(s.d, b, q.Where)
		}
		if q.After != nil {
			if q.Where != nil {
				b.sql(" AND ")
			}
			s.after(b, keys, q.After)
		}
	}
	sql := s.sqlFor(c)
	if dj := s.d.DeferredJoinOffset(); dj == 0 || offset < dj {
		b.sql(sql.selectFrom, " AS t")
		where(b)
		b.sql(orderBy, " LIMIT ").arg(q.PerPage)
		if offset > 0 {
			b.sql(" OFFSET ").arg(offset)
		}
	} else {
		// Deep pages: skip the offset over ids only (the primary key index,
		// or a sort index), then read the page's whole rows.
		b.sql(sql.selectFrom, " AS t WHERE t.id IN (SELECT t.id", from)
		where(b)
		b.sql(orderBy, " LIMIT ").arg(q.PerPage).sql(" OFFSET ").arg(offset).sql(")", orderBy)
	}
	return b, keys, random, nil
}

// sortKey is one ORDER BY key as SQL.
type sortKey struct {
	sql     string
	desc    bool
	random  bool
	notNull bool // the column never holds NULL (id, created, updated)
	field   *loam.Field
	path    *expr.Path // a path through relations: read with a query
}

func (s *Store) sortKeys(c *loam.Collection, keys []loam.SortKey, b *builder) ([]sortKey, error) {
	out := make([]sortKey, 0, len(keys))
	fc := &filterCompiler{d: s.d, b: b, aliases: 100}
	for _, k := range keys {
		if k.Random {
			out = append(out, sortKey{sql: "random()", random: true})
			continue
		}
		sk := sortKey{desc: k.Desc}
		switch {
		case k.Path != nil && len(k.Path.Steps) > 1:
			sk.sql, sk.path = fc.scalar(k.Path), k.Path
		default:
			name := k.Field
			if k.Path != nil {
				name = k.Path.Steps[0].Field
			}
			switch name {
			case loam.ColID, loam.ColCreated, loam.ColUpdated:
				sk.notNull, sk.sql = true, "t."+name
			default:
				if sk.field = c.Field(name); sk.field == nil {
					return nil, loam.Errorf(loam.CodeInvalidSort, "unknown sort field %q", name)
				}
				sk.sql = "t." + quote(name)
			}
		}
		out = append(out, sk)
	}
	return out, nil
}

// after writes the condition "comes after the cursor" in the order of keys
// (then id ascending): for keys k1..kn with values v1..vn,
//
//	k1 after v1 OR (k1 = v1 AND k2 after v2) OR ... OR (all equal AND id > vid)
//
// where NULL sorts first going up and last going down. A leading bound on
// the first key (k1 >= v1 going up) lets an index on it serve the page.
func (s *Store) after(b *builder, keys []sortKey, c *loam.Cursor) {
	val := func(i int) any {
		v := c.Values[i]
		if t, ok := v.(time.Time); ok {
			return s.d.EncodeTime(t)
		}
		return v
	}
	b.sql("(")
	if len(keys) > 0 && c.Values[0] != nil && !keys[0].random {
		k := keys[0]
		switch {
		case !k.desc:
			b.sql(k.sql, " >= ").arg(val(0)).sql(" AND ")
		case k.notNull:
			b.sql(k.sql, " <= ").arg(val(0)).sql(" AND ")
		}
	}
	b.sql("(")
	for i, k := range keys {
		for j := 0; j < i; j++ {
			s.equal(b, keys[j], val(j))
			b.sql(" AND ")
		}
		v := val(i)
		switch {
		case v == nil && k.desc:
			b.sql("1 = 0") // nothing comes after no value going down
		case v == nil:
			b.sql(k.sql, " IS NOT NULL")
		case k.desc && k.notNull:
			b.sql(k.sql, " < ").arg(v)
		case k.desc:
			b.sql("(", k.sql, " < ").arg(v).sql(" OR ", k.sql, " IS NULL)")
		default:
			b.sql(k.sql, " > ").arg(v)
		}
		b.sql(" OR ")
	}
	for j := range keys {
		s.equal(b, keys[j], val(j))
		b.sql(" AND ")
	}
	b.sql("t.id > ").arg(c.ID).sql("))")
}

func (s *Store) equal(b *builder, k sortKey, v any) {
	if v == nil {
		b.sql(k.sql, " IS NULL")
		return
	}
	b.sql(k.sql, " = ").arg(v)
}

// position returns the cursor of a record in the order of keys: its own
// values for its fields, and one query for keys that follow relations.
func (s *Store) position(ctx context.Context, c *loam.Collection, keys []sortKey, r *loam.Record) (*loam.Cursor, error) {
	cur := &loam.Cursor{ID: r.ID, Values: make([]any, len(keys))}
	var paths []int
	for i, k := range keys {
		switch {
		case k.path != nil:
			paths = append(paths, i)
		case k.sql == "t.id":
			cur.Values[i] = r.ID
		case k.sql == "t.created":
			cur.Values[i] = r.Created
		case k.sql == "t.updated":
			cur.Values[i] = r.Updated
		default:
			cur.Values[i] = r.Data[k.field.Name]
		}
	}
	if len(paths) == 0 {
		return cur, nil
	}
	b := &builder{d: s.d}
	fc := &filterCompiler{d: s.d, b: b, aliases: 100}
	cols := make([]string, len(paths))
	for n, i := range paths {
		cols[n] = fc.scalar(keys[i].path) // again: its parameters belong to this statement
	}
	b.sql("SELECT ", strings.Join(cols, ", "))
	b.sql(" FROM ", quote(c.Name), " AS t WHERE t.id = ").arg(r.ID)
	raw := make([]any, len(paths))
	dest := make([]any, len(paths))
	for i := range raw {
		dest[i] = &raw[i]
	}
	if err := queryRow(ctx, s.db, dest, b.String(), b.args...); err != nil {
		return nil, fmt.Errorf("read the cursor of %s: %w", r.ID, err)
	}
	for n, i := range paths {
		v, err := decodePathValue(keys[i].path, raw[n])
		if err != nil {
			return nil, fmt.Errorf("read the cursor of %s: %w", r.ID, err)
		}
		cur.Values[i] = v
	}
	return cur, nil
}

// decodePathValue reads a value a path's scalar query returned.
func decodePathValue(p *expr.Path, v any) (any, error) {
	f := &loam.Field{Type: loam.TypeText}
	switch p.Kind {
	case expr.KindNumber:
		f = &loam.Field{Type: loam.TypeNumber, Integer: p.Integer}
	case expr.KindBool:
		f = &loam.Field{Type: loam.TypeBool}
	case expr.KindDate:
		f = &loam.Field{Type: loam.TypeDate}
	}
	return decodeValue(f, v)
}

// InsertRecord writes a new record and its event in one transaction.
func (s *Store) InsertRecord(ctx context.Context, c *loam.Collection, r *loam.Record) error {
	err := s.db.Write(ctx, WriteOptions{}, func(tx Querier) error {
		if err := s.checkRecord(ctx, tx, c, r); err != nil {
			return err
		}
		args := make([]any, 0, 3+len(c.Fields))
		args = append(args, r.ID, s.d.EncodeTime(r.Created), s.d.EncodeTime(r.Updated))
		for i := range c.Fields {
			f := &c.Fields[i]
			args = append(args, s.d.Encode(f, r.Data[f.Name]))
		}
		if _, err := tx.Exec(ctx, s.sqlFor(c).insert, args...); err != nil {
			return s.writeError(c, err)
		}
		return s.appendEvent(ctx, tx, c.Name, r.ID, loam.ActionCreate, r.Updated)
	})
	if err != nil {
		return fmt.Errorf("insert into %s: %w", c.Name, err)
	}
	return nil
}

// UpdateRecord writes r over the stored version prev.
func (s *Store) UpdateRecord(ctx context.Context, c *loam.Collection, prev, r *loam.Record, endSessions bool) error {
	err := s.db.Write(ctx, WriteOptions{}, func(tx Querier) error {
		if err := s.checkRecord(ctx, tx, c, r); err != nil {
			return err
		}
		if err := s.updateRow(ctx, tx, c, prev.Updated, r); err != nil {
			return err
		}
		if endSessions {
			b := s.deleteSessions(c.Name, r.ID)
			if _, err := tx.Exec(ctx, b.String(), b.args...); err != nil {
				return fmt.Errorf("end sessions: %w", err)
			}
		}
		return s.appendEvent(ctx, tx, c.Name, r.ID, loam.ActionUpdate, r.Updated)
	})
	if err != nil {
		return fmt.Errorf("update %s/%s: %w", c.Name, r.ID, err)
	}
	return nil
}

// updateRow writes every column of r where the row is still at version prevUpdated.
func (s *Store) updateRow(ctx context.Context, tx Querier, c *loam.Collection, prevUpdated time.Time, r *loam.Record) error {
	b := &builder{d: s.d}
	b.sql("UPDATE ", quote(c.Name), " SET updated = ").arg(s.d.EncodeTime(r.Updated))
	for i := range c.Fields {
		f := &c.Fields[i]
		b.sql(", ", quote(f.Name), " = ").arg(s.d.Encode(f, r.Data[f.Name]))
	}
	b.sql(" WHERE id = ").arg(r.ID).sql(" AND updated = ").arg(s.d.EncodeTime(prevUpdated))
	n, err := tx.Exec(ctx, b.String(), b.args...)
	if err != nil {
		return s.writeError(c, err)
	}
	if n == 0 {
		return s.missingOrStale(ctx, tx, c, r.ID)
	}
	return nil
}

// missingOrStale explains why a conditional write touched no row.
func (s *Store) missingOrStale(ctx context.Context, tx Querier, c *loam.Collection, id string) error {
	var n int64
	b := &builder{d: s.d}
	b.sql("SELECT count(*) FROM ", quote(c.Name), " WHERE id = ").arg(id)
	if err := queryRow(ctx, tx, []any{&n}, b.String(), b.args...); err != nil {
		return fmt.Errorf("check record: %w", err)
	}
	if n == 0 {
		return loam.Errorf(loam.CodeNotFound, "record %q not found in %s", id, c.Name)
	}
	return loam.Errorf(loam.CodePreconditionFailed, "record %q changed since it was read", id)
}

// checkRecord checks, inside the write transaction, what the table alone can
// tell: unique values and relation targets. On SQLite the single writer makes
// the check exact; on PostgreSQL a race still ends in the constraint, which
// writeError translates the same way.
func (s *Store) checkRecord(ctx context.Context, tx Querier, c *loam.Collection, r *loam.Record) error {
	var fe loam.FieldErrors
	var conflict loam.FieldErrors
	for i := range c.Fields {
		f := &c.Fields[i]
		v := r.Data[f.Name]
		if v == nil {
			continue
		}
		if f.Unique {
			col, val := quote(f.Name), s.d.Encode(f, v)
			if str, ok := v.(string); ok && c.FoldsCase(f) {
				col, val = "lower("+col+")", loam.FoldEmail(str)
			}
			taken, err := s.exists(ctx, tx, c.Name, []string{col}, []any{val}, r.ID)
			if err != nil {
				return err
			}
			if taken {
				conflict.Add(f.Name, loam.FieldUnique, "is already taken")
			}
		}
		if f.Type == loam.TypeRelation {
			ids, _ := v.([]string)
			if !f.Multiple {
				ids = []string{v.(string)}
			}
			missing, err := s.missingIDs(ctx, tx, f.Collection, ids)
			if err != nil {
				return err
			}
			if len(missing) > 0 {
				fe.Add(f.Name, loam.FieldNotFound, "no record %q in %s", missing[0], f.Collection)
			}
		}
	}
	for _, ix := range c.Indexes {
		if !ix.Unique {
			continue
		}
		vals := make([]any, 0, len(ix.Fields))
		for _, name := range ix.Fields {
			f := c.Field(name)
			if f == nil || r.Data[name] == nil {
				vals = nil
				break
			}
			vals = append(vals, s.d.Encode(f, r.Data[name]))
		}
		if vals == nil {
			continue
		}
		cols := make([]string, len(ix.Fields))
		for i, name := range ix.Fields {
			cols[i] = quote(name)
		}
		taken, err := s.exists(ctx, tx, c.Name, cols, vals, r.ID)
		if err != nil {
			return err
		}
		if taken {
			for _, name := range ix.Fields {
				conflict.Add(name, loam.FieldUnique, "the combination of %s is already taken", strings.Join(ix.Fields, ", "))
			}
		}
	}
	if err := fe.Err(loam.CodeValidationFailed, "some relations point at missing records"); err != nil {
		return err
	}
	return conflict.Err(loam.CodeConflict, "a unique value is already taken")
}

// exists reports whether another row than exceptID has these values in
// cols (quoted column expressions).
func (s *Store) exists(ctx context.Context, tx Querier, table string, cols []string, vals []any, exceptID string) (bool, error) {
	b := &builder{d: s.d}
	b.sql("SELECT count(*) FROM (SELECT 1 FROM ", quote(table), " WHERE ")
	for i, col := range cols {
		b.sql(col, " = ").arg(vals[i]).sql(" AND ")
	}
	b.sql("id <> ").arg(exceptID).sql(" LIMIT 1) t")
	var n int64
	if err := queryRow(ctx, tx, []any{&n}, b.String(), b.args...); err != nil {
		return false, fmt.Errorf("check unique: %w", err)
	}
	return n > 0, nil
}

// missingIDs returns the ids that have no record in table.
func (s *Store) missingIDs(ctx context.Context, tx Querier, table string, ids []string) ([]string, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	b := &builder{d: s.d}
	b.sql("SELECT id FROM ", quote(table), " WHERE id IN (")
	for i, id := range ids {
		if i > 0 {
			b.sql(", ")
		}
		b.arg(id)
	}
	b.sql(")")
	rows, err := tx.Query(ctx, b.String(), b.args...)
	if err != nil {
		return nil, fmt.Errorf("check relation: %w", err)
	}
	defer rows.Close()
	found := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("check relation: %w", err)
		}
		found[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("check relation: %w", err)
	}
	var missing []string
	for _, id := range ids {
		if !found[id] {
			missing = append(missing, id)
		}
	}
	return missing, nil
}

// writeError translates a constraint violation of a record write.
func (s *Store) writeError(c *loam.Collection, err error) error {
	kind, constraint := s.d.ConstraintError(err)
	field := fieldOfConstraint(c, constraint)
	switch kind {
	case UniqueViolation:
		e := &loam.Error{Code: loam.CodeConflict, Message: "a unique value is already taken", Err: err}
		if field != "" {
			e.Fields = map[string]loam.FieldError{field: {Code: loam.FieldUnique, Message: "is already taken"}}
		}
		return e
	case ForeignKeyViolation:
		e := &loam.Error{Code: loam.CodeValidationFailed, Message: "a relation points at a missing record", Err: err}
		if field != "" {
			e.Fields = map[string]loam.FieldError{field: {Code: loam.FieldNotFound, Message: "points at a missing record"}}
		}
		return e
	}
	return fmt.Errorf("write record: %w", err)
}

// DeleteRecord deletes a record and applies the onDelete behaviour of every
// relation that points at it, recursively, in one transaction.
func (s *Store) DeleteRecord(ctx context.Context, schema *loam.Schema, c *loam.Collection, id string, ifUpdated *time.Time) error {
	err := s.db.Write(ctx, WriteOptions{}, func(tx Querier) error {
		if ifUpdated != nil {
			var n int64
			b := &builder{d: s.d}
			b.sql("SELECT count(*) FROM ", quote(c.Name), " WHERE id = ").arg(id).sql(" AND updated = ").arg(s.d.EncodeTime(*ifUpdated))
			if err := queryRow(ctx, tx, []any{&n}, b.String(), b.args...); err != nil {
				return fmt.Errorf("check version: %w", err)
			}
			if n == 0 {
				return s.missingOrStale(ctx, tx, c, id)
			}
		}
		d := &deletion{s: s, tx: tx, schema: schema, now: loam.Now(), seen: map[string]bool{}}
		return d.delete(ctx, c, id)
	})
	if err != nil {
		return fmt.Errorf("delete %s/%s: %w", c.Name, id, err)
	}
	return nil
}

// deletion walks the records a delete reaches through onDelete rules.
type deletion struct {
	s      *Store
	tx     Querier
	schema *loam.Schema
	now    time.Time
	seen   map[string]bool
}

func (d *deletion) delete(ctx context.Context, c *loam.Collection, id string) error {
	key := c.Name + "/" + id
	if d.seen[key] {
		return nil
	}
	d.seen[key] = true
	s := d.s
	for _, ref := range d.schema.ReferencesTo(c.Name) {
		children, err := d.referencing(ctx, ref, id)
		if err != nil {
			return err
		}
		if len(children) == 0 {
			continue
		}
		switch ref.Field.OnDelete {
		case loam.OnDeleteRestrict:
			return &loam.Error{Code: loam.CodeConflict,
				Message: fmt.Sprintf("the record is referenced by %d record(s) of %s through %s", len(children), ref.Collection.Name, ref.Field.Name)}
		case loam.OnDeleteCascade:
			for _, child := range children {
				if err := d.delete(ctx, ref.Collection, child); err != nil {
					return err
				}
			}
		default:
			for _, child := range children {
				if d.seen[ref.Collection.Name+"/"+child] {
					continue
				}
				if err := d.unlink(ctx, ref, child, id); err != nil {
					return err
				}
			}
		}
	}
	b := &builder{d: s.d}
	b.sql("DELETE FROM ", quote(c.Name), " WHERE id = ").arg(id)
	n, err := d.tx.Exec(ctx, b.String(), b.args...)
	if err != nil {
		if kind, _ := s.d.ConstraintError(err); kind == ForeignKeyViolation {
			return &loam.Error{Code: loam.CodeConflict, Message: "the record is referenced by other records", Err: err}
		}
		return fmt.Errorf("delete row: %w", err)
	}
	if n == 0 {
		return loam.Errorf(loam.CodeNotFound, "record %q not found in %s", id, c.Name)
	}
	if c.IsAuth() { // its sessions, API keys and second factor go with it
		if err := s.deleteAuthRows(ctx, d.tx, recordAuthTables, "collection", c.Name, "record_id", id); err != nil {
			return err
		}
	}
	return s.appendEvent(ctx, d.tx, c.Name, id, loam.ActionDelete, d.now)
}

// referencing returns the ids of records of ref.Collection whose ref.Field points at id.
func (d *deletion) referencing(ctx context.Context, ref loam.Reference, id string) ([]string, error) {
	s := d.s
	b := &builder{d: s.d}
	// Qualified, so a field named like a column of json_each (value, key, ...) stays ours.
	col := quote(ref.Collection.Name) + "." + quote(ref.Field.Name)
	b.sql("SELECT id FROM ", quote(ref.Collection.Name), " WHERE ")
	if ref.Field.Multiple {
		b.args = append(b.args, id)
		b.sql(s.d.ListContains(col, s.d.Placeholder(len(b.args))))
	} else {
		b.sql(col, " = ").arg(id)
	}
	rows, err := d.tx.Query(ctx, b.String(), b.args...)
	if err != nil {
		return nil, fmt.Errorf("find references: %w", err)
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var cid string
		if err := rows.Scan(&cid); err != nil {
			return nil, fmt.Errorf("find references: %w", err)
		}
		ids = append(ids, cid)
	}
	return ids, rows.Err()
}

// unlink removes id from child's relation field (setNull) and records the update.
func (d *deletion) unlink(ctx context.Context, ref loam.Reference, child, id string) error {
	s := d.s
	rec, err := s.getRecord(ctx, d.tx, ref.Collection, child)
	if err != nil {
		if errors.Is(err, loam.ErrNotFound) {
			return nil
		}
		return err
	}
	var v any
	if ref.Field.Multiple {
		var keep []string
		list, _ := rec.Data[ref.Field.Name].([]string)
		for _, x := range list {
			if x != id {
				keep = append(keep, x)
			}
		}
		if len(keep) > 0 {
			v = keep
		}
	}
	updated := d.now
	if !updated.After(rec.Updated) {
		updated = rec.Updated.Add(time.Millisecond)
	}
	b := &builder{d: s.d}
	b.sql("UPDATE ", quote(ref.Collection.Name), " SET ", quote(ref.Field.Name), " = ").arg(s.d.Encode(ref.Field, v)).
		sql(", updated = ").arg(s.d.EncodeTime(updated)).sql(" WHERE id = ").arg(child)
	if _, err := d.tx.Exec(ctx, b.String(), b.args...); err != nil {
		return fmt.Errorf("unlink %s/%s: %w", ref.Collection.Name, child, err)
	}
	return s.appendEvent(ctx, d.tx, ref.Collection.Name, child, loam.ActionUpdate, updated)
}
