package loam

import (
	"slices"
	"sync"
)

// Resolver is what a hook event must provide: the Next step of its chain.
// Embed HookEvent in an event type to get it.
type Resolver interface {
	Next() error
	setNext(func() error)
}

// HookEvent is embedded in every hook event; its Next runs the rest of the chain.
type HookEvent struct {
	next func() error
}

// Next runs the next handler of the chain and, after the last one, the action
// itself (the write). Code before Next runs before the action; code after it
// sees the committed result. Not calling Next stops the chain without error;
// returning an error rejects the action (an *Error keeps its code and becomes
// the JSON error; any other error is an internal error).
func (e *HookEvent) Next() error {
	if e.next == nil {
		return nil
	}
	return e.next()
}

func (e *HookEvent) setNext(f func() error) { e.next = f }

// Hook is a chain of handlers around an action, in the order they were bound.
type Hook[T Resolver] struct {
	mu       sync.RWMutex
	handlers []hookHandler[T]
	seq      int
}

type hookHandler[T Resolver] struct {
	id int
	fn func(T) error
}

// Bind adds a handler at the end of the chain and returns an id for Unbind.
func (h *Hook[T]) Bind(fn func(e T) error) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	h.handlers = append(h.handlers, hookHandler[T]{id: h.seq, fn: fn})
	return h.seq
}

// Unbind removes the handler with that id.
func (h *Hook[T]) Unbind(id int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.handlers = slices.DeleteFunc(h.handlers, func(x hookHandler[T]) bool { return x.id == id })
}

// bound reports whether any handler is bound.
func (h *Hook[T]) bound() bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.handlers) > 0
}

// Trigger runs the chain on e, ending with action.
func (h *Hook[T]) Trigger(e T, action func(e T) error) error {
	h.mu.RLock()
	fns := make([]func(T) error, 0, len(h.handlers)+1)
	for _, x := range h.handlers {
		fns = append(fns, x.fn)
	}
	h.mu.RUnlock()
	fns = append(fns, action)
	i := 0
	var next func() error
	next = func() error {
		if i >= len(fns) {
			return nil
		}
		fn := fns[i]
		i++
		return fn(e)
	}
	e.setNext(next)
	return next()
}

// CollectionHook is a view of a record hook that runs its handlers only for
// some collections.
type CollectionHook struct {
	hook  *Hook[*RecordEvent]
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
