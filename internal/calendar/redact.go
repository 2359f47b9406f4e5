package calendar

import "regexp"

// userinfoPassword matches the password of a URL's userinfo
// (scheme://user:password@host) anywhere in a text, including URLs that
// url.Parse refuses and so cannot redact (a space in the host).
var userinfoPassword = regexp.MustCompile(`([A-Za-z][A-Za-z0-9+.\-]*://[^/?#@\s"':]*:)[^/?#@\s"']*@`)

// RedactURLs replaces the password of every URL in s with "xxxxx", as
// url.URL.Redacted does. A CalDAV URL with a password in it was echoed
// as it is in errors and logs (issue 18, finding 7); every message that
// may quote one passes through here.
func RedactURLs(s string) string {
	return userinfoPassword.ReplaceAllString(s, "${1}xxxxx@")
}
