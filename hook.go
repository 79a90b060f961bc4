package loam

import (
	"slices"

	"loam/hook"
)

// CollectionHook is a view of a record hook that runs its handlers only for
// some collections.
type CollectionHook struct {
	hook  *hook.Hook[*RecordEvent]
	names []string
}

// Bind adds a handler for the view's collections (all when none were named).
func (h CollectionHook) Bind(fn func(e *RecordEvent) error) int {
	if len(h.names) == 0 {
		return h.hook.Bind(fn)
	}
	names := slices.Clone(h.names)
	return h.hook.Bind(func(e *RecordEvent) error {
		if slices.Contains(names, e.Collection.Name) {
			return fn(e)
		}
		return e.Next()
	})
}

// Unbind removes a handler.
func (h CollectionHook) Unbind(id int) { h.hook.Unbind(id) }
