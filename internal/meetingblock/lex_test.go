package meetingblock

import (
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// checkLexer compares the lexer with golang.org/x/net/html's Tokenizer on
// body: the same token types (doctypes are comments), the same raw spans,
// the same attributes, keys and decoded values.
func checkLexer(t *testing.T, body string) {
	t.Helper()
	z := html.NewTokenizer(strings.NewReader(body))
	l := newLexer(body)
	pos := 0
	for n := 0; ; n++ {
		want := z.Next()
		if want == html.DoctypeToken {
			want = html.CommentToken
		}
		got := l.next()
		if got != want {
			t.Fatalf("token %d at %d: lexer %v, Tokenizer %v (%q)", n, pos, got, want, z.Raw())
		}
		if want == html.ErrorToken {
			return
		}
		raw := string(z.Raw())
		if l.start != pos || l.raw() != raw {
			t.Fatalf("token %d (%v): lexer [%d,%d) %q, Tokenizer [%d,%d) %q", n, want, l.start, l.pos, l.raw(), pos, pos+len(raw), raw)
		}
		pos += len(raw)
		switch want {
		case html.TextToken:
			w := string(z.Text())
			if g := l.text(); g != w {
				t.Fatalf("token %d text: lexer %q, Tokenizer %q", n, g, w)
			}
			if !l.rawText && !l.convertNUL {
				if b, ok := appendUnescaped(nil, raw); ok && string(b) != w {
					t.Fatalf("token %d text: appendUnescaped %q, Tokenizer %q", n, b, w)
				}
			}
		case html.StartTagToken, html.SelfClosingTagToken:
			as := l.attributes()
			for i := 0; ; i++ {
				k, v, more := z.TagAttr()
				if k == nil {
					if i != len(as) {
						t.Fatalf("token %d %q: lexer has %d attributes, Tokenizer %d", n, raw, len(as), i)
					}
					break
				}
				if i >= len(as) {
					t.Fatalf("token %d %q: lexer has %d attributes, Tokenizer more", n, raw, len(as))
				}
				if gk, gv := l.attrKey(as[i]), l.attrVal(as[i]); gk != string(k) || gv != string(v) {
					t.Fatalf("token %d %q attribute %d: lexer %q=%q, Tokenizer %q=%q", n, raw, i, gk, gv, k, v)
				}
				if !more {
					if i+1 != len(as) {
						t.Fatalf("token %d %q: lexer has %d attributes, Tokenizer %d", n, raw, len(as), i+1)
					}
					break
				}
			}
		}
	}
}

var lexCases = []string{
	"", "<", "a<", "</", "a</", "<a", "<a ", "<a b", "<a b=", "<a b='", "<a b=c", "<a b=c/>", "<p a=/>", "<br/>",
	"<br />", "<input disabled/>", "<a b=\"x/\"/>", "<A HREF=x Href=y>", "<a =b>", "<a ==b>", "<a b = c >",
	"<a b c d/e>", "<a/b/c>", "</>", "</ >", "</1>", "</a b=c>", "</a", "<!", "<!-", "<!--", "<!-->", "<!--->",
	"<!---->", "<!-- a -- b -->", "<!-- a --!>", "<!-- a --!", "<!-- a --!-->", "<!-- a --", "<!-- a -",
	"<!DOCTYPE html>", "<!doctype", "<!DOC", "<!doctypex>", "<!>", "<!x>", "<![CDATA[x]]>", "<?xml ?>", "<?",
	"<1>", "< a>", "a < b > c", "<<a>>", "<script>a</b>c</script>d", "<script><!--<script>x</script>--></script>y",
	"<script>", "<script></script>", "<SCRIPT>x</Script >y", "<style>p{}</style>", "<style>a</stylex></style >b",
	"<title>a&amp;b<i></title>", "<textarea>&lt;</textarea/>", "<xmp><b></xmp>", "<plaintext><b>&amp;</b>",
	"<iframe src=x>a</iframe>", "<noscript><p></noscript>", "<style/>a</style>", "<style>", "<title>x",
	"a&amp;b&lt;c&#x41;&#65;&nbsp;&copy;&copyx&notin;&zz;&", "a&amp;b&lt;&gt;&quot;&#39;&nbsp;& &; &\r\n&", "&amp", "&ampx;", "&#39", "<a href='&amp;&#39;&nbsp;\r\n'>", "a\r\nb\rc\x00d", "<a href='x&amp;y&copy=1&notit;'>",
	"<a\x00b c\x00=d\x00>", "<a b=\"c\r\nd\">", "<a b=c\td>", "<a b='c'd>", "<a b=c\"d>", "<a b= >", "<a b=>",
	"<a b=c>d</a b=c>", "<ſcript>x</script>", "<a b=x/ >", "<a/>", "<a//>", "<a / / />", "<a b='/'/>",
	"<a " + strings.Repeat("x ", 100) + "x/>", "<a " + strings.Repeat("k=v ", 70) + "K=w/>",
}

func TestLexerMatchesTokenizer(t *testing.T) {
	for _, c := range lexCases {
		t.Run("", func(t *testing.T) { checkLexer(t, c) })
	}
	err := filepath.WalkDir("testdata", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		t.Run(path, func(t *testing.T) { checkLexer(t, string(b)) })
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// FuzzLexer: the lexer and the Tokenizer agree on any input.
func FuzzLexer(f *testing.F) {
	for _, c := range lexCases {
		f.Add(c)
	}
	f.Fuzz(func(t *testing.T, body string) { checkLexer(t, body) })
}
