package api

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/openmms/mms/internal/meetingblock"
	"github.com/openmms/mms/internal/migration"
)

// MaxPreviewBytes bounds a preview request to the largest message
// Exchange Online accepts by default: 36 MB received, 35 MB sent (Exchange
// counts MB as MiB), "Message limits" in "Exchange Online limits",
// https://learn.microsoft.com/office365/servicedescriptions/exchange-online-service-description/exchange-online-limits
// A meeting's body is part of its message, so no real body is larger; a
// tenant that raised its limit (up to 150 MB) previews its rare larger
// bodies with `mms preview`, which runs locally. The bound is on the JSON
// request, the body with its escaping and the profile.
const MaxPreviewBytes = 36 << 20

// DefaultMaxPreviews is how many previews may run at once in the process.
// A maximum-size preview holds about three times its body at the peak (the
// request's buffer, the body, the block engine's elements and the new
// body): 8 at once peak at 870 to 980 MiB of heap above idle
// (BenchmarkPreviewPeakMemory), under the 1 GiB issue 18 allows in a
// process that in `mms dev` also runs Temporal and the worker. Beyond the
// cap the answer is 429.
const DefaultMaxPreviews = 8

// PreviewRequest is the body of POST /v1/preview.
type PreviewRequest struct {
	Body    string                `json:"body"`
	Format  meetingblock.Format   `json:"format"`
	Profile *meetingblock.Profile `json:"profile"`
	Target  migration.Target      `json:"target"`
	// Locale, when set, overrides the profile's locale: preview the block
	// in another language without editing the profile.
	Locale string `json:"locale,omitempty"`
}

func (r *PreviewRequest) validate() error {
	switch {
	case r.Body == "":
		return errors.New("body: required")
	case r.Profile == nil:
		return errors.New("profile: required")
	}
	switch r.Format {
	case "":
		r.Format = meetingblock.FormatHTML
	case meetingblock.FormatHTML, meetingblock.FormatText, meetingblock.FormatICal:
	default:
		return fmt.Errorf("format: must be html, text or ical, not %q", r.Format)
	}
	switch r.Target {
	case "":
		r.Target = migration.TargetCurrent
	case migration.TargetCurrent, migration.TargetTeams:
	default:
		return fmt.Errorf("target: must be Current or Teams, not %q", r.Target)
	}
	if r.Locale != "" {
		if _, err := meetingblock.ParseLocale(r.Locale); err != nil {
			return fmt.Errorf("locale: %v", err)
		}
		r.Profile.Locale = r.Locale
	}
	if err := r.Profile.Validate(); err != nil {
		return fmt.Errorf("profile.%v", err)
	}
	return nil
}

// decodePreview decodes a preview request holding one copy of the body's
// JSON and one of the body: the request without its body, a few hundred
// bytes, goes through the strict decoder (unknown fields, types), and only
// the body's value is unmarshalled from the buffer in place; json.Decoder
// would copy the whole request into its own doubling buffer first.
func decodePreview(c *gin.Context, req *PreviewRequest) error {
	buf, err := readBody(c, MaxPreviewBytes)
	if err != nil {
		return explainJSON(err)
	}
	if !json.Valid(buf) {
		return decodeBytes(buf, req) // its message says what is wrong
	}
	start, end := -1, -1
	if err := walkJSON(buf, func(key string, s, e int) {
		if key == "body" {
			start, end = s, e
		}
	}); err != nil {
		return err
	}
	if start < 0 {
		return decodeBytes(buf, req)
	}
	rest := make([]byte, 0, len(buf)-(end-start)+2)
	rest = append(append(append(rest, buf[:start]...), `""`...), buf[end:]...)
	if err := decodeBytes(rest, req); err != nil {
		return err
	}
	if buf[start] != '"' { // not a string: encoding/json says what it is
		return explainJSON(json.Unmarshal(buf[start:end], &req.Body))
	}
	req.Body = unquoteJSON(buf[start:end])
	return nil
}

// unquoteJSON decodes a JSON string that json.Valid has accepted, as
// encoding/json would (invalid UTF-8 and lone surrogates become U+FFFD),
// into a string allocated once: json.Unmarshal unquotes into a buffer and
// then copies it into the string, two copies of a body of up to 36 MiB at
// once (issue 18, finding 2).
func unquoteJSON(q []byte) string {
	q = q[1 : len(q)-1]
	var b strings.Builder
	b.Grow(len(q)) // the decoded string is shorter, but for U+FFFD replacing single bytes
	for i := 0; i < len(q); {
		// Copy the plain run up to the next escape or non-ASCII byte.
		j := i
		for j < len(q) && q[j] != '\\' && q[j] < utf8.RuneSelf {
			j++
		}
		b.Write(q[i:j])
		if i = j; i == len(q) {
			break
		}
		if q[i] != '\\' {
			r, size := utf8.DecodeRune(q[i:])
			b.WriteRune(r) // RuneError for an invalid byte, as encoding/json writes
			i += size
			continue
		}
		i++
		switch c := q[i]; c {
		case 'u':
			r := hex4(q[i+1:])
			i += 5
			if utf16.IsSurrogate(r) {
				if i+6 <= len(q) && q[i] == '\\' && q[i+1] == 'u' {
					if pair := utf16.DecodeRune(r, hex4(q[i+2:])); pair != utf8.RuneError {
						b.WriteRune(pair)
						i += 6
						continue
					}
				}
				r = utf8.RuneError
			}
			b.WriteRune(r)
		default:
			b.WriteByte(unescape(c))
			i++
		}
	}
	return b.String()
}

// unescape is the byte a one-letter JSON escape stands for.
func unescape(c byte) byte {
	switch c {
	case 'b':
		return '\b'
	case 'f':
		return '\f'
	case 'n':
		return '\n'
	case 'r':
		return '\r'
	case 't':
		return '\t'
	}
	return c // '"', '\\' and '/' stand for themselves
}

// hex4 reads the four hex digits of a \u escape that json.Valid accepted.
func hex4(h []byte) rune {
	var r rune
	for _, c := range h[:4] {
		switch {
		case c <= '9':
			c -= '0'
		case c <= 'F':
			c -= 'A' - 10
		default:
			c -= 'a' - 10
		}
		r = r<<4 | rune(c)
	}
	return r
}

// previewSlots admits at most MaxPreviews previews at once and answers 429
// beyond: waiting in line would hold each waiting request's connection
// and, once admitted, its memory anyway.
func (s *Server) previewSlots() gin.HandlerFunc {
	n := s.MaxPreviews
	if n <= 0 {
		n = DefaultMaxPreviews
	}
	slots := make(chan struct{}, n)
	return func(c *gin.Context) {
		select {
		case slots <- struct{}{}:
			defer func() { <-slots }()
			c.Next()
		default:
			tooMany(c, "too many previews running (at most "+strconv.Itoa(n)+" at once)")
		}
	}
}

// preview runs the block engine on a body without touching any meeting.
func (s *Server) preview(c *gin.Context) {
	c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, MaxPreviewBytes)
	var req PreviewRequest
	if err := decodePreview(c, &req); err != nil {
		badRequest(c, err.Error())
		return
	}
	if err := req.validate(); err != nil {
		badRequest(c, err.Error())
		return
	}
	res := meetingblock.Preview(req.Body, req.Format, *req.Profile, req.Target)
	req.Body = "" // the request's copy is no longer needed
	writePreview(c, &res)
}

// writePreview writes res as c.JSON would, but streams the body, the one
// large field, instead of building the whole answer in memory first, and
// leaves <, > and & as they are: c.JSON escapes each into six bytes, so an
// HTML body's answer was several times its size (65 MB for 15 MiB).
func writePreview(c *gin.Context, res *meetingblock.PreviewResult) {
	// The rest of the result: a field of the outer struct hides the
	// embedded one of the same JSON name, and omitempty drops it.
	// Old is left out when no block was found: a zero block has no kind,
	// which the document's Block does not allow.
	var old *meetingblock.Block
	if res.Old.Kind != "" {
		old = &res.Old
	}
	rest, err := json.Marshal(struct {
		*meetingblock.PreviewResult
		Body string              `json:"body,omitempty"`
		Old  *meetingblock.Block `json:"old,omitempty"`
	}{PreviewResult: res, Old: old})
	if err != nil {
		abort(c, http.StatusInternalServerError, "internal", "encoding the preview failed")
		return
	}
	c.Header("Content-Type", "application/json; charset=utf-8")
	c.Status(http.StatusOK)
	w := bufio.NewWriterSize(c.Writer, 64<<10)
	w.WriteString(`{"body":`)
	writeJSONString(w, res.Body)
	w.WriteByte(',')
	w.Write(rest[1:])
	_ = w.Flush() // a client that left: nothing to tell it
}

// writeJSONString writes s as a JSON string, escaped as encoding/json does
// with HTML escaping off: quotes, backslashes, control characters, U+2028
// and U+2029 (JavaScript line terminators), and invalid UTF-8 as U+FFFD.
func writeJSONString(w *bufio.Writer, s string) {
	const hex = "0123456789abcdef"
	w.WriteByte('"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			w.WriteString(s[start:i])
			switch b {
			case '"', '\\':
				w.WriteByte('\\')
				w.WriteByte(b)
			case '\n':
				w.WriteString(`\n`)
			case '\r':
				w.WriteString(`\r`)
			case '\t':
				w.WriteString(`\t`)
			default:
				w.WriteString(`\u00`)
				w.WriteByte(hex[b>>4])
				w.WriteByte(hex[b&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			w.WriteString(s[start:i])
			w.WriteString(`\ufffd`)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			w.WriteString(s[start:i])
			w.WriteString(`\u202`)
			w.WriteByte(hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	w.WriteString(s[start:])
	w.WriteByte('"')
}
