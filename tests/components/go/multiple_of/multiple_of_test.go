package multipleof

import (
	"testing"

	"torvyn.dev/sdk/torvyn"
)

func TestMultipleOf(t *testing.T) {
	m := &MultipleOf{}
	if err := m.Init("divisor=4"); err != nil {
		t.Fatal(err)
	}
	for in, want := range map[string]bool{"8": true, "10": false, "0": true} {
		if got, err := m.Accept(torvyn.NewElement(0, []byte(in), "")); got != want || err != nil {
			t.Errorf("Accept(%s) = %v %v", in, got, err)
		}
	}
	if _, err := m.Accept(torvyn.NewElement(0, []byte("x1"), "")); torvyn.AsError(err).Kind != torvyn.KindInvalidInput {
		t.Errorf("x1: %v", err)
	}
	if err := (&MultipleOf{}).Init("divisor=0"); torvyn.AsError(err).Kind != torvyn.KindInvalidInput {
		t.Errorf("divisor=0: %v", err)
	}
}
