package sqlstore

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"loam"
)

// scheduleColumns reads a stored schedule; scanSchedule scans them.
const scheduleColumns = `name, last_tick, spec, kind, CAST(args AS TEXT), timezone, missed, grace_ms, queue, priority,
max_attempts, timeout_ms, CAST(tags AS TEXT), paused, created, updated`

// ListSchedules reads every stored schedule (those with a spec), by name.
func (s *Store) ListSchedules(ctx context.Context) ([]*loam.Schedule, error) {
	b := &builder{d: s.d}
	b.sql("SELECT " + scheduleColumns + " FROM _schedules WHERE spec IS NOT NULL ORDER BY name")
	out, err := s.querySchedules(ctx, s.db, b)
	if err != nil {
		return nil, fmt.Errorf("list schedules: %w", err)
	}
	return out, nil
}

// GetSchedule reads one stored schedule.
func (s *Store) GetSchedule(ctx context.Context, name string) (*loam.Schedule, error) {
	b := &builder{d: s.d}
	b.sql("SELECT " + scheduleColumns + " FROM _schedules WHERE spec IS NOT NULL AND name = ").arg(name)
	out, err := s.querySchedules(ctx, s.db, b)
	if err != nil {
		return nil, fmt.Errorf("get schedule %s: %w", name, err)
	}
	if len(out) == 0 {
		return nil, loam.Errorf(loam.CodeNotFound, "no schedule %q", name)
	}
	return out[0], nil
}

// CreateSchedule inserts the row unless the name has one (ON CONFLICT DO
// NOTHING: concurrent creations of one name store one).
func (s *Store) CreateSchedule(ctx context.Context, sc *loam.Schedule) error {
	err := s.db.Write(ctx, WriteOptions{}, func(tx Querier) error {
		b := &builder{d: s.d}
		b.sql("INSERT INTO _schedules (name, last_tick, spec, kind, args, timezone, missed, grace_ms, queue, priority, " +
			"max_attempts, timeout_ms, tags, paused, created, updated) VALUES (").arg(sc.Name).sql(", ").
			arg(s.d.EncodeTime(sc.LastTick)).sql(", ")
		s.scheduleValues(b, sc)
		b.sql(", ").arg(s.d.EncodeTime(sc.Created)).sql(", ").arg(s.d.EncodeTime(sc.Updated)).sql(") ON CONFLICT (name) DO NOTHING")
		n, err := tx.Exec(ctx, b.String(), b.args...)
		if err != nil {
			return err
		}
		if n == 0 {
			return loam.Errorf(loam.CodeConflict, "a schedule named %q exists already", sc.Name)
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("create schedule %s: %w", sc.Name, err)
	}
	return nil
}

// scheduleValues writes the parameters of a schedule's definition, in the
// order of the columns spec .. paused.
func (s *Store) scheduleValues(b *builder, sc *loam.Schedule) {
	tags := sc.Tags
	if tags == nil {
		tags = []string{}
	}
	args := sc.Args
	if len(args) == 0 {
		args = json.RawMessage("null")
	}
	b.arg(sc.Spec).sql(", ").arg(sc.Kind).sql(", ").arg(string(args)).sql(", ").arg(sc.Timezone).sql(", ").
		arg(sc.Missed).sql(", ").arg(sc.Grace.Milliseconds()).sql(", ").arg(sc.Queue).sql(", ").
		arg(int64(sc.Priority)).sql(", ").arg(int64(sc.MaxAttempts)).sql(", ").arg(sc.Timeout.Milliseconds()).
		sql(", ").arg(EncodeList(tags)).sql(", ").arg(sc.Paused)
}

// UpdateSchedule rewrites a stored schedule's definition.
func (s *Store) UpdateSchedule(ctx context.Context, sc *loam.Schedule) error {
	b := &builder{d: s.d}
	b.sql("UPDATE _schedules SET (spec, kind, args, timezone, missed, grace_ms, queue, priority, max_attempts, " +
		"timeout_ms, tags, paused, updated) = (")
	s.scheduleValues(b, sc)
	b.sql(", ").arg(s.d.EncodeTime(sc.Updated)).sql(") WHERE spec IS NOT NULL AND name = ").arg(sc.Name)
	n, err := s.writeOne(ctx, b)
	if err != nil {
		return fmt.Errorf("update schedule %s: %w", sc.Name, err)
	}
	if n == 0 {
		return loam.Errorf(loam.CodeNotFound, "no schedule %q", sc.Name)
	}
	return nil
}

// DeleteSchedule deletes a stored schedule's row.
func (s *Store) DeleteSchedule(ctx context.Context, name string) error {
	b := &builder{d: s.d}
	b.sql("DELETE FROM _schedules WHERE spec IS NOT NULL AND name = ").arg(name)
	n, err := s.writeOne(ctx, b)
	if err != nil {
		return fmt.Errorf("delete schedule %s: %w", name, err)
	}
	if n == 0 {
		return loam.Errorf(loam.CodeNotFound, "no schedule %q", name)
	}
	return nil
}

// querySchedules runs b and scans the schedules it returns.
func (s *Store) querySchedules(ctx context.Context, q Querier, b *builder) ([]*loam.Schedule, error) {
	rows, err := q.Query(ctx, b.String(), b.args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []*loam.Schedule
	for rows.Next() {
		var (
			sc                                    loam.Schedule
			last, created, updated                any
			args, tags                            string
			grace, priority, maxAttempts, timeout int64
			timezone, missed, queue, spec, kind   string
		)
		if err := rows.Scan(&sc.Name, &last, &spec, &kind, &args, &timezone, &missed, &grace, &queue, &priority,
			&maxAttempts, &timeout, &tags, &sc.Paused, &created, &updated); err != nil {
			return nil, fmt.Errorf("scan schedule: %w", err)
		}
		sc.Spec, sc.Kind, sc.Args, sc.Timezone, sc.Missed, sc.Queue = spec, kind, json.RawMessage(args), timezone, missed, queue
		sc.Grace, sc.Timeout = time.Duration(grace)*time.Millisecond, time.Duration(timeout)*time.Millisecond
		sc.Priority, sc.MaxAttempts = int(priority), int(maxAttempts)
		for _, t := range []struct {
			v   any
			dst *time.Time
		}{{last, &sc.LastTick}, {created, &sc.Created}, {updated, &sc.Updated}} {
			if *t.dst, err = asTime(t.v); err != nil {
				return nil, fmt.Errorf("scan schedule %s: %w", sc.Name, err)
			}
		}
		if err := json.Unmarshal([]byte(tags), &sc.Tags); err != nil {
			return nil, fmt.Errorf("scan schedule %s: tags: %w", sc.Name, err)
		}
		out = append(out, &sc)
	}
	return out, rows.Err()
}
