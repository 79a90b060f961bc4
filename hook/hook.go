// Package hook is a chain of handlers around an action, in the style of
// PocketBase's hooks: each handler does its part and calls e.Next() to run
// the rest of the chain and, at its end, the action itself; code before Next
// runs before the action, code after it sees the result.
package hook

import (
	"slices"
	"sync"
)

// Resolver is what an event passed through a Hook must provide. Embed Event
// in an event type to get it.
type Resolver interface {
	Next() error
	setNext(func() error)
}

// Event is embedded in every hook event; its Next runs the rest of the chain.
type Event struct {
	next func() error
}

// Next runs the next handler of the chain and, after the last one, the
// action. Not calling it stops the chain; returning an error rejects the action.
func (e *Event) Next() error {
	if e.next == nil {
		return nil
	}
	return e.next()
}

func (e *Event) setNext(f func() error) { e.next = f }

// Hook is a chain of handlers, in the order they were bound. The zero value
// is ready to use and safe for concurrent use.
type Hook[T Resolver] struct {
	mu       sync.RWMutex
	handlers []handler[T]
	seq      int
}

type handler[T Resolver] struct {
	id int
	fn func(T) error
}

// Bind adds a handler at the end of the chain and returns an id for Unbind.
func (h *Hook[T]) Bind(fn func(e T) error) int {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.seq++
	h.handlers = append(h.handlers, handler[T]{id: h.seq, fn: fn})
	return h.seq
}

// Unbind removes the handler with that id.
func (h *Hook[T]) Unbind(id int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.handlers = slices.DeleteFunc(h.handlers, func(x handler[T]) bool { return x.id == id })
}

// Bound reports whether any handler is bound.
func (h *Hook[T]) Bound() bool {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return len(h.handlers) > 0
}

// Trigger runs the chain on e, ending with action, and returns the first
// error a handler or the action returned.
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
