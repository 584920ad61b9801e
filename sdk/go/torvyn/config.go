package torvyn

import (
	"strconv"
	"strings"
)

// Config reads a node's config string as words "key=value", separated by
// spaces, commas, semicolons or newlines ("count=3 prefix=>"); the first
// word with a key wins.
type Config string

func isSep(r rune) bool {
	return r == ' ' || r == ',' || r == ';' || r == '\n' || r == '\t' || r == '\r'
}

// Get is the value of key, and whether it is present.
func (c Config) Get(key string) (string, bool) {
	for _, word := range strings.FieldsFunc(string(c), isSep) {
		if k, v, ok := strings.Cut(word, "="); ok && k == key {
			return v, true
		}
	}
	return "", false
}

// Uint64 is key's value as a decimal number; fallback when absent or empty,
// an error when it is not a number.
func (c Config) Uint64(key string, fallback uint64) (uint64, error) {
	v, ok := c.Get(key)
	if !ok || v == "" {
		return fallback, nil
	}
	n, err := strconv.ParseUint(v, 10, 64)
	if err != nil {
		return 0, InvalidInput("config %s=%q is not a number", key, v)
	}
	return n, nil
}
