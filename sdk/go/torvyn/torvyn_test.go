package torvyn

import (
	"context"
	"errors"
	"fmt"
	"testing"
)

func TestElement(t *testing.T) {
	e := NewElement(7, []byte("hello"), "text/plain")
	if e.Sequence() != 7 || e.Size() != 5 || e.ContentType() != "text/plain" {
		t.Fatalf("element: %d %d %q", e.Sequence(), e.Size(), e.ContentType())
	}
	b := e.Bytes()
	b[0] = 'J' // a copy: the element is unchanged
	if string(e.Bytes()) != "hello" {
		t.Fatalf("Bytes is not a copy")
	}
	for _, c := range []struct {
		off, n uint64
		want   string
	}{{0, 2, "he"}, {3, 10, "lo"}, {5, 1, ""}, {9, 1, ""}} {
		if got := string(e.Read(c.off, c.n)); got != c.want {
			t.Errorf("Read(%d, %d) = %q, want %q", c.off, c.n, got, c.want)
		}
	}
	e.EndLoan()
	defer func() {
		if recover() == nil {
			t.Fatalf("use after the loan did not panic")
		}
	}()
	e.Bytes()
}

func TestErrors(t *testing.T) {
	cases := []struct {
		err  error
		kind Kind
		msg  string
	}{
		{InvalidInput("bad %d", 1), KindInvalidInput, "bad 1"},
		{Unavailable("later"), KindUnavailable, "later"},
		{Fatal("over"), KindFatal, "over"},
		{ErrDeadlineExceeded, KindDeadlineExceeded, ""},
		{fmt.Errorf("wrapped: %w", Internal("x")), KindInternal, "x"},
		{fmt.Errorf("ctx: %w", context.DeadlineExceeded), KindDeadlineExceeded, ""},
		{errors.New("plain"), KindInternal, "plain"},
	}
	for _, c := range cases {
		got := AsError(c.err)
		if got.Kind != c.kind || got.Message != c.msg {
			t.Errorf("AsError(%v) = %v %q, want %v %q", c.err, got.Kind, got.Message, c.kind, c.msg)
		}
	}
}

func TestConfig(t *testing.T) {
	c := Config("count=3, prefix=> divisor=;x=1")
	if v, ok := c.Get("prefix"); !ok || v != ">" {
		t.Errorf("prefix = %q %v", v, ok)
	}
	if v, ok := c.Get("divisor"); !ok || v != "" {
		t.Errorf("divisor = %q %v", v, ok)
	}
	if _, ok := c.Get("count=3"); ok {
		t.Errorf("a key with = matched")
	}
	if n, err := c.Uint64("count", 9); n != 3 || err != nil {
		t.Errorf("count = %d %v", n, err)
	}
	if n, err := c.Uint64("divisor", 9); n != 9 || err != nil {
		t.Errorf("empty divisor = %d %v", n, err)
	}
	if _, err := Config("n=x").Uint64("n", 0); AsError(err).Kind != KindInvalidInput {
		t.Errorf("n=x: %v", err)
	}
}

type nop struct{ Base }

func (nop) Process(*Element) (*Output, error) { return nil, nil }

func TestExport(t *testing.T) {
	defer func() { registered.role, registered.value = "", nil }()
	ExportProcessor(nop{})
	if role, v := Exported(); role != "processor" || v == nil {
		t.Fatalf("Exported() = %q %v", role, v)
	}
	defer func() {
		if recover() == nil {
			t.Fatalf("a second export did not panic")
		}
	}()
	ExportProcessor(nop{})
}
