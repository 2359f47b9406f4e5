package meetingblock

import (
	"net/url"
	"strings"
)

// maxSafeLinksDepth bounds SafeLinks unwrapping: a link wrapped again by
// every hop of a forwarded mail nests, and a crafted one could nest forever.
const maxSafeLinksDepth = 8

// unwrapSafeLinks returns the original URL behind Outlook SafeLinks
// (https://*.safelinks.protection.outlook.com/?url=...&data=...), however
// many times it was wrapped, up to maxSafeLinksDepth.
func unwrapSafeLinks(u string) string {
	for range maxSafeLinksDepth {
		if a, ok := authority(u); !ok || !containsFold(a, "safelinks.protection.") {
			return u
		}
		pu, err := url.Parse(strings.TrimSpace(u))
		if err != nil {
			return u
		}
		h := strings.ToLower(pu.Hostname())
		if !strings.HasSuffix(h, ".safelinks.protection.outlook.com") &&
			!strings.HasSuffix(h, ".safelinks.protection.office365.us") &&
			!strings.HasSuffix(h, ".safelinks.protection.outlook.cn") {
			return u
		}
		inner := pu.Query().Get("url")
		if inner == "" {
			return u
		}
		u = inner
	}
	return u
}

// Hosts that serve Teams meetings (commercial, GCC High, DoD, consumer and
// the newer cloud.microsoft domain).
var teamsHosts = []string{
	"teams.microsoft.com", "teams.cloud.microsoft", "teams.live.com",
	"gov.teams.microsoft.us", "dod.teams.microsoft.us", "teams.microsoft.us",
}

type linkKind uint8

const (
	linkOther      linkKind = iota
	linkTeamsJoin           // https://teams.microsoft.com/l/meetup-join/...
	linkTeamsMeet           // https://teams.microsoft.com/meet/<id>?p=<passcode>
	linkTeamsOpts           // https://teams.microsoft.com/meetingOptions/...
	linkSfBJoin             // https://meet.lync.com/<tenant>/<user>/<id>, https://meet.<domain>/<user>/<id>
	linkSfBWebApp           // the same with ?sl=1 ("Try Skype Web App")
	linkTel                 // tel:+14255550100,,123456789#
	linkThirdParty          // a dial-in page of a known third-party audio-conferencing provider
)

// Domains of well-known third-party audio-conferencing (ACP) providers.
var acpDomains = []string{
	"pgi.com", "globalmeet.com", "intercall.com", "arkadin.com", "btconferencing.com",
	"loopup.com", "westuc.com", "premiereglobal.com", "yorktel.com",
}

// classifyLink classifies an already unwrapped link. Most links of a body
// are the agenda's: a look at the host spares them a full URL parse.
func classifyLink(u string) linkKind {
	if hasPrefixFold(u, "tel:") {
		return linkTel
	}
	if a, ok := authority(u); !ok || !interestingHost(a) {
		return linkOther
	}
	pu, err := url.Parse(u)
	if err != nil {
		return linkOther
	}
	host := strings.ToLower(pu.Hostname())
	path := pu.EscapedPath()
	for _, h := range teamsHosts {
		if host != h {
			continue
		}
		switch {
		case hasPrefixFold(path, "/l/meetup-join/"):
			return linkTeamsJoin
		case hasPrefixFold(path, "/meet/"):
			return linkTeamsMeet
		case hasPrefixFold(path, "/meetingoptions"):
			return linkTeamsOpts
		}
		return linkOther
	}
	for _, d := range acpDomains {
		if host == d || strings.HasSuffix(host, "."+d) {
			return linkThirdParty
		}
	}
	if strings.HasPrefix(host, "meet.") && strings.Count(strings.Trim(path, "/"), "/") >= 1 {
		if pu.Query().Get("sl") != "" {
			return linkSfBWebApp
		}
		return linkSfBJoin
	}
	return linkOther
}

// authority returns the host[:port] part of an http(s) URL, lower case
// (copied only when it has upper case), without a full parse.
func authority(u string) (string, bool) {
	var rest string
	switch {
	case hasPrefixFold(u, "https://"):
		rest = u[len("https://"):]
	case hasPrefixFold(u, "http://"):
		rest = u[len("http://"):]
	default:
		return "", false
	}
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; c == '/' || c == '?' || c == '#' {
			rest = rest[:i]
			break
		}
	}
	if i := strings.LastIndexByte(rest, '@'); i >= 0 {
		rest = rest[i+1:]
	}
	for i := 0; i < len(rest); i++ {
		if c := rest[i]; c >= 'A' && c <= 'Z' {
			return strings.ToLower(rest), true
		}
	}
	return rest, true
}

// interestingHost is a quick filter on a lower-case authority: could it be
// a Teams, Skype or third-party conferencing host?
func interestingHost(a string) bool {
	if strings.Contains(a, "teams.") || strings.HasPrefix(a, "meet.") {
		return true
	}
	for _, d := range acpDomains {
		if strings.Contains(a, d) {
			return true
		}
	}
	return false
}

// telNumber returns the number of a tel: link in E.164-like form (+ and
// digits), without the ",,conference-id#" one-tap suffix.
func telNumber(u string) string {
	v := u[4:]
	if d, err := url.PathUnescape(v); err == nil {
		v = d
	}
	if i := strings.IndexAny(v, ",;p"); i >= 0 {
		v = v[:i]
	}
	return phoneDigits(v)
}

// phoneDigits keeps a leading + and the digits.
func phoneDigits(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= '0' && c <= '9' || c == '+' && b.Len() == 0 {
			b.WriteByte(c)
		}
	}
	return b.String()
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

// containsFold reports whether s contains the ASCII-lower-case substr,
// ignoring ASCII case in s, without allocating.
func containsFold(s, substr string) bool { return indexFold(s, substr) >= 0 }

// indexFold is the index of the first match of containsFold, or -1. It
// compares bytes, so offsets stay valid in s whatever its non-ASCII content.
func indexFold(s, substr string) int {
	n := len(substr)
	if n == 0 {
		return 0
	}
	first, upper := substr[0], substr[0]
	if first >= 'a' && first <= 'z' {
		upper = first - ('a' - 'A')
	}
	end := len(s) - n + 1
	// Next positions of the first byte in either case (-1: none left),
	// found with the fast IndexByte and each looked up again only once
	// passed, which keeps the search linear.
	nl, nu := -2, -2
	if upper == first {
		nu = -1
	}
	for i := 0; i < end; i++ {
		if nl != -1 && nl < i {
			nl = indexFrom(s[:end], first, i)
		}
		if nu != -1 && nu < i {
			nu = indexFrom(s[:end], upper, i)
		}
		switch {
		case nl < 0 && nu < 0:
			return -1
		case nu < 0 || nl >= 0 && nl < nu:
			i = nl
		default:
			i = nu
		}
		k := 1
		for k < n && lower(s[i+k]) == substr[k] {
			k++
		}
		if k == n {
			return i
		}
	}
	return -1
}

// indexFrom is strings.IndexByte from position i, -1 when absent.
func indexFrom(s string, c byte, i int) int {
	if j := strings.IndexByte(s[i:], c); j >= 0 {
		return i + j
	}
	return -1
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
