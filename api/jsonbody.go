package api

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
)

// readBody reads the request body, at most limit bytes. A declared
// Content-Length is read into a buffer of exactly that size: growing a
// buffer by doubling, as io.ReadAll and json.Decoder do, costs up to three
// times the body at the moment of a copy, which for a maximum-size preview
// was most of its memory (issue 18, finding 2). Only routes whose
// concurrency is bounded (previews) pass a large limit, so a client that
// declares a large length and sends nothing holds little.
func readBody(c *gin.Context, limit int64) ([]byte, error) {
	n := c.Request.ContentLength
	if n > limit {
		return nil, &http.MaxBytesError{Limit: limit}
	}
	if n <= 0 {
		return io.ReadAll(io.LimitReader(c.Request.Body, limit+1))
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(c.Request.Body, buf); err != nil {
		return nil, err
	}
	return buf, nil
}

// decodeBytes decodes one JSON object into v as decodeJSON does: unknown
// fields, duplicate keys and trailing data are refused, with messages
// that name the field.
func decodeBytes(buf []byte, v any) error {
	// encoding/json takes null for any object and leaves it as it was: a
	// body of null would be an empty update, answered 200.
	if bytes.Equal(bytes.TrimSpace(buf), []byte("null")) {
		return errorString("body: must be a JSON object, not null")
	}
	if json.Valid(buf) {
		if err := walkJSON(buf, nil); err != nil {
			return err
		}
	}
	dec := json.NewDecoder(bytes.NewReader(buf))
	dec.DisallowUnknownFields()
	err := dec.Decode(v)
	if err == nil && dec.More() {
		err = errorString("unexpected data after the JSON object")
	}
	return explainJSON(err)
}

type errorString string

func (e errorString) Error() string { return string(e) }

// walkJSON walks a valid JSON document without copying its values,
// refusing an object that has a key twice (encoding/json keeps the last
// one silently, so a body could say two things and be read as the second;
// issue 18, finding 7). It calls top, when not nil, with each key of the
// top-level object and the byte range of its value.
func walkJSON(data []byte, top func(key string, start, end int)) error {
	w := jsonWalker{data: data, top: top}
	_, err := w.value("", 0)
	return err
}

type jsonWalker struct {
	data []byte
	i    int
	top  func(key string, start, end int)
}

func (w *jsonWalker) space() {
	for w.i < len(w.data) {
		switch w.data[w.i] {
		case ' ', '\t', '\r', '\n':
			w.i++
		default:
			return
		}
	}
}

// value walks the value at w.i (after spaces), named path in messages, and
// returns where it starts.
func (w *jsonWalker) value(path string, depth int) (int, error) {
	w.space()
	start := w.i
	switch w.data[w.i] {
	case '{':
		w.i++
		seen := map[string]bool{}
		for {
			w.space()
			if w.data[w.i] == '}' {
				w.i++
				return start, nil
			}
			if w.data[w.i] == ',' {
				w.i++
				w.space()
			}
			ks := w.i
			w.skipString()
			var key string
			if err := json.Unmarshal(w.data[ks:w.i], &key); err != nil {
				return start, err
			}
			name := key
			if path != "" {
				name = path + "." + key
			}
			if seen[key] {
				return start, fmt.Errorf("%s: duplicate key", name)
			}
			seen[key] = true
			w.space()
			w.i++ // ':'
			vs, err := w.value(name, depth+1)
			if err != nil {
				return start, err
			}
			if depth == 0 && w.top != nil {
				w.top(key, vs, w.i)
			}
		}
	case '[':
		w.i++
		for n := 0; ; n++ {
			w.space()
			if w.data[w.i] == ']' {
				w.i++
				return start, nil
			}
			if w.data[w.i] == ',' {
				w.i++
			}
			if _, err := w.value(path+"["+strconv.Itoa(n)+"]", depth+1); err != nil {
				return start, err
			}
		}
	case '"':
		w.skipString()
	default: // a number, true, false or null
		for w.i < len(w.data) {
			switch w.data[w.i] {
			case ',', '}', ']', ' ', '\t', '\r', '\n':
				return start, nil
			}
			w.i++
		}
	}
	return start, nil
}

// skipString moves past the string at w.i.
func (w *jsonWalker) skipString() {
	w.i++ // the opening quote
	for w.data[w.i] != '"' {
		if w.data[w.i] == '\\' {
			w.i++
		}
		w.i++
	}
	w.i++
}
