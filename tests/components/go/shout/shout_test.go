package shout

import (
	"testing"

	"torvyn.dev/sdk/torvyn"
)

func TestShout(t *testing.T) {
	out, err := Shout{}.Process(torvyn.NewElement(0, []byte("hello, world #1"), "text/plain"))
	if err != nil || string(out.Payload) != "HELLO, WORLD #1!" || out.ContentType != "text/plain" {
		t.Fatalf("Process = %+v, %v", out, err)
	}
}
