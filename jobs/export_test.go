package jobs

import (
	"context"
	"time"
)

// RunSchedules runs the client's schedules once at now, for tests that
// move time themselves.
func (c *Client) RunSchedules(ctx context.Context, now time.Time) time.Time {
	next, _ := c.runSchedules(ctx, now)
	return next
}
