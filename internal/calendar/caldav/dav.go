package caldav

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// davClient speaks the few WebDAV/CalDAV requests the back end needs, with
// net/http directly: go-webdav's client cannot send If-Match and hides the
// raw calendar data.
type davClient struct {
	hc   *http.Client
	base *url.URL
	cred Credentials
}

// statusError is an unexpected HTTP status.
type statusError struct {
	method, url string
	code        int
	body        string
}

func (e *statusError) Error() string {
	return fmt.Sprintf("caldav: %s %s: HTTP %d %s", e.method, e.url, e.code, strings.TrimSpace(e.body))
}

func httpStatus(err error) int {
	if se, ok := err.(*statusError); ok {
		return se.code
	}
	return 0
}

func (c *davClient) resolve(href string) (string, error) {
	u, err := url.Parse(href)
	if err != nil {
		return "", fmt.Errorf("caldav: bad href %q: %w", href, err)
	}
	return c.base.ResolveReference(u).String(), nil
}

// do sends a request; any status outside 2xx is a *statusError.
func (c *davClient) do(ctx context.Context, method, href string, hdr http.Header, body []byte) (*http.Response, []byte, error) {
	u, err := c.resolve(href)
	if err != nil {
		return nil, nil, err
	}
	var r io.Reader
	if body != nil {
		r = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, r)
	if err != nil {
		return nil, nil, err
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	if c.cred.Username != "" {
		req.SetBasicAuth(c.cred.Username, c.cred.Password)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return nil, nil, fmt.Errorf("caldav: %s %s: %w", method, u, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return resp, nil, fmt.Errorf("caldav: %s %s: %w", method, u, err)
	}
	if resp.StatusCode/100 != 2 {
		msg := string(data)
		if len(msg) > 300 {
			msg = msg[:300]
		}
		return resp, data, &statusError{method: method, url: u, code: resp.StatusCode, body: msg}
	}
	return resp, data, nil
}

type hrefList struct {
	Hrefs []string `xml:"DAV: href"`
}

type davProp struct {
	CurrentUserPrincipal *hrefList `xml:"DAV: current-user-principal"`
	DisplayName          string    `xml:"DAV: displayname"`
	HomeSet              *hrefList `xml:"urn:ietf:params:xml:ns:caldav calendar-home-set"`
	AddressSet           *hrefList `xml:"urn:ietf:params:xml:ns:caldav calendar-user-address-set"`
	ResourceType         struct {
		Calendar *struct{} `xml:"urn:ietf:params:xml:ns:caldav calendar"`
	} `xml:"DAV: resourcetype"`
	CompSet *struct {
		Comps []struct {
			Name string `xml:"name,attr"`
		} `xml:"urn:ietf:params:xml:ns:caldav comp"`
	} `xml:"urn:ietf:params:xml:ns:caldav supported-calendar-component-set"`
	ETag         string `xml:"DAV: getetag"`
	CalendarData string `xml:"urn:ietf:params:xml:ns:caldav calendar-data"`
}

type davResponse struct {
	Href      string `xml:"DAV: href"`
	Status    string `xml:"DAV: status"`
	PropStats []struct {
		Status string  `xml:"DAV: status"`
		Prop   davProp `xml:"DAV: prop"`
	} `xml:"DAV: propstat"`
}

// ok returns the properties the server found (the 200 propstat).
func (r davResponse) ok() (davProp, bool) {
	for _, ps := range r.PropStats {
		if strings.Contains(ps.Status, " 200") {
			return ps.Prop, true
		}
	}
	return davProp{}, false
}

type multiStatus struct {
	Responses []davResponse `xml:"DAV: response"`
}

func (c *davClient) multi(ctx context.Context, method, href, depth, body string) ([]davResponse, error) {
	hdr := http.Header{"Content-Type": {`application/xml; charset=utf-8`}, "Depth": {depth}}
	_, data, err := c.do(ctx, method, href, hdr, []byte(body))
	if err != nil {
		return nil, err
	}
	var ms multiStatus
	if err := xml.Unmarshal(data, &ms); err != nil {
		return nil, fmt.Errorf("caldav: %s %s: bad multistatus: %w", method, href, err)
	}
	return ms.Responses, nil
}

const propfindPrincipal = `<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop>
<D:current-user-principal/><D:displayname/><C:calendar-home-set/><C:calendar-user-address-set/>
</D:prop></D:propfind>`

const propfindCalendars = `<?xml version="1.0" encoding="utf-8"?>
<D:propfind xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav"><D:prop>
<D:resourcetype/><D:displayname/><C:supported-calendar-component-set/>
</D:prop></D:propfind>`

func calendarQuery(from, to string) string {
	return `<?xml version="1.0" encoding="utf-8"?>
<C:calendar-query xmlns:D="DAV:" xmlns:C="urn:ietf:params:xml:ns:caldav">
<D:prop><D:getetag/><C:calendar-data/></D:prop>
<C:filter><C:comp-filter name="VCALENDAR"><C:comp-filter name="VEVENT">
<C:time-range start="` + from + `" end="` + to + `"/>
</C:comp-filter></C:comp-filter></C:filter>
</C:calendar-query>`
}

// get returns a resource's text and ETag.
func (c *davClient) get(ctx context.Context, href string) (string, string, error) {
	resp, data, err := c.do(ctx, http.MethodGet, href, http.Header{"Accept": {"text/calendar"}}, nil)
	if err != nil {
		return "", "", err
	}
	return string(data), resp.Header.Get("ETag"), nil
}

// put stores a resource if its ETag still is etag; it returns the new ETag
// ("" when the server does not say, as Cyrus).
func (c *davClient) put(ctx context.Context, href, etag, body string) (string, error) {
	hdr := http.Header{"Content-Type": {"text/calendar; charset=utf-8"}}
	if etag != "" {
		hdr.Set("If-Match", etag)
	} else {
		hdr.Set("If-None-Match", "*")
	}
	resp, _, err := c.do(ctx, http.MethodPut, href, hdr, []byte(body))
	if err != nil {
		return "", err
	}
	return resp.Header.Get("ETag"), nil
}
