package hook

import (
	"errors"
	"slices"
	"testing"
)

type ev struct {
	Event
	trail []string
}

func TestChainOrder(t *testing.T) {
	var h Hook[*ev]
	for _, name := range []string{"a", "b"} {
		h.Bind(func(e *ev) error {
			e.trail = append(e.trail, name+" before")
			err := e.Next()
			e.trail = append(e.trail, name+" after")
			return err
		})
	}
	e := &ev{}
	if err := h.Trigger(e, func(e *ev) error { e.trail = append(e.trail, "action"); return nil }); err != nil {
		t.Fatal(err)
	}
	want := []string{"a before", "b before", "action", "b after", "a after"}
	if !slices.Equal(e.trail, want) {
		t.Fatalf("trail %q, want %q", e.trail, want)
	}
}

func TestRejectAndUnbind(t *testing.T) {
	var h Hook[*ev]
	refuse := errors.New("no")
	id := h.Bind(func(e *ev) error { return refuse })
	ran := false
	if err := h.Trigger(&ev{}, func(*ev) error { ran = true; return nil }); !errors.Is(err, refuse) || ran {
		t.Fatalf("rejecting handler: err %v, action ran %v", err, ran)
	}
	if !h.Bound() {
		t.Fatal("Bound() = false with a handler")
	}
	h.Unbind(id)
	if h.Bound() {
		t.Fatal("Bound() = true after Unbind")
	}
	if err := h.Trigger(&ev{}, func(*ev) error { ran = true; return nil }); err != nil || !ran {
		t.Fatalf("after Unbind: err %v, action ran %v", err, ran)
	}
}
