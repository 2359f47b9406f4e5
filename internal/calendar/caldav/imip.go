package caldav

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/trace"

	"github.com/emersion/go-ical"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/openmms/mms/internal/calendar"
	icaledit "github.com/openmms/mms/internal/meetingblock/ical"
)

// MessageID returns the Message-ID of the iMIP message of an update
// (idempotency key) to one attendee: the same on every attempt, so a
// re-sent message is recognisably the same one.
func MessageID(key, attendee, domain string) string {
	h := sha256.Sum256([]byte(key + "\x00" + strings.ToLower(attendee)))
	if domain == "" {
		domain = "mms.invalid"
	}
	return "<imip." + hex.EncodeToString(h[:16]) + "@" + domain + ">"
}

// itip renders the iTIP REQUEST for the stored resource: METHOD:REQUEST,
// the time zones, and the updated VEVENT (for a series master, the master
// and its exceptions), as stored, without mms's bookkeeping of recipients.
func itip(d *icaledit.Doc, target *icaledit.Event) string {
	var b strings.Builder
	depth, include := 0, true
	for i, l := range d.Lines {
		raw := l.Raw
		if !strings.HasSuffix(raw, "\n") {
			raw += d.NL
		}
		switch l.Name {
		case "BEGIN":
			depth++
			if depth == 2 {
				comp := strings.ToUpper(strings.TrimSpace(l.Value))
				include = comp == "VTIMEZONE" || (comp == "VEVENT" && (target.RID == "" || i == target.Begin))
			}
			if include {
				b.WriteString(raw)
			}
			if depth == 1 {
				b.WriteString("METHOD:REQUEST" + d.NL)
			}
			continue
		case "END":
			if include {
				b.WriteString(raw)
			}
			if depth == 2 {
				include = true
			}
			depth--
			continue
		}
		if !include || (depth == 1 && l.Name == "METHOD") || l.Name == propNotified {
			continue
		}
		b.WriteString(raw)
	}
	return b.String()
}

func domainOf(addr string) string {
	_, d, _ := strings.Cut(addr, "@")
	return d
}

func header(name, value string) string {
	return name + ": " + value + "\r\n"
}

func formatAddr(name, addr string) string {
	return (&mail.Address{Name: name, Address: addr}).String()
}

// message builds one iMIP message (RFC 6047).
func (b *Backend) message(p *principal, d *icaledit.Doc, e *icaledit.Event, key string, to calendar.Attendee, body string) []byte {
	c := component(d, e)
	orgAddr, orgName := p.cfg.SMTP.From, ""
	if o := c.Props.Get(ical.PropOrganizer); o != nil && calAddr(o.Value) != "" {
		orgAddr, orgName = calAddr(o.Value), o.Params.Get(ical.ParamCommonName)
	}
	sender, _ := mail.ParseAddress(p.cfg.SMTP.From)
	var h strings.Builder
	h.WriteString(header("From", formatAddr(orgName, orgAddr)))
	if sender != nil && !strings.EqualFold(sender.Address, orgAddr) {
		h.WriteString(header("Sender", sender.String()))
	}
	h.WriteString(header("To", formatAddr(to.Name, to.Address)))
	h.WriteString(header("Subject", mime.QEncoding.Encode("utf-8", "Updated: "+textOf(c, ical.PropSummary))))
	h.WriteString(header("Date", b.now().Format(time.RFC1123Z)))
	domain := domainOf(orgAddr)
	if sender != nil {
		domain = domainOf(sender.Address)
	}
	h.WriteString(header("Message-ID", MessageID(key, to.Address, domain)))
	h.WriteString(header("MIME-Version", "1.0"))
	h.WriteString(header("Content-Type", `text/calendar; method=REQUEST; charset=UTF-8`))
	h.WriteString(header("Content-Transfer-Encoding", "quoted-printable"))
	h.WriteString("\r\n")
	var buf bytes.Buffer
	buf.WriteString(h.String())
	qp := quotedprintable.NewWriter(&buf)
	_, _ = qp.Write([]byte(body))
	_ = qp.Close()
	return buf.Bytes()
}

// sendIMIP sends the REQUEST to each attendee in one SMTP session, one
// transaction per attendee, and returns the addresses the server accepted.
// A recipient the server refuses does not stop the others.
func (b *Backend) sendIMIP(ctx context.Context, p *principal, d *icaledit.Doc, e *icaledit.Event, key string, to []calendar.Attendee) (sent []string, err error) {
	if len(to) == 0 {
		return nil, nil
	}
	cfg := p.cfg.SMTP
	// One span per session: the server and the counts, never an address
	// or the message.
	ctx, span := b.tracer.Start(ctx, "smtp imip", trace.WithSpanKind(trace.SpanKindClient), trace.WithAttributes(
		attribute.String("mms.backend", "caldav"), attribute.String("server.address", cfg.Host),
		attribute.Int("server.port", cfg.Port), attribute.Int("mms.imip.recipients", len(to))))
	defer func() {
		span.SetAttributes(attribute.Int("mms.imip.accepted", len(sent)))
		if err != nil {
			span.SetStatus(codes.Error, err.Error())
		}
		span.End()
	}()
	addr := net.JoinHostPort(cfg.Host, strconv.Itoa(cfg.Port))
	conn, err := (&net.Dialer{Timeout: 30 * time.Second}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("caldav: imip: %w", err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	} else {
		_ = conn.SetDeadline(time.Now().Add(5 * time.Minute))
	}
	helo := cfg.HelloName
	if helo == "" {
		helo = "localhost"
	}
	var c *smtp.Client
	if cfg.Security == SMTPNone {
		c = smtp.NewClient(conn)
		err = c.Hello(helo)
	} else {
		// go-smtp greets as "localhost" before STARTTLS here.
		c, err = smtp.NewClientStartTLS(conn, &tls.Config{ServerName: cfg.Host})
	}
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("caldav: imip: %s: %w", addr, err)
	}
	defer c.Close()
	if cfg.Username != "" {
		if err := c.Auth(sasl.NewPlainClient("", cfg.Username, cfg.Password)); err != nil {
			return nil, fmt.Errorf("caldav: imip: auth: %w", err)
		}
	}
	body := itip(d, e)
	envFrom := cfg.From
	if a, err := mail.ParseAddress(cfg.From); err == nil {
		envFrom = a.Address
	}
	var errs []error
	for _, a := range to {
		if err := sendOne(c, envFrom, a.Address, b.message(p, d, e, key, a, body)); err != nil {
			errs = append(errs, fmt.Errorf("caldav: imip to %s: %w", a.Address, err))
			var se *smtp.SMTPError
			if !errors.As(err, &se) {
				break // the session is gone
			}
			if rerr := c.Reset(); rerr != nil {
				errs = append(errs, rerr)
				break
			}
			continue
		}
		sent = append(sent, a.Address)
	}
	if len(errs) == 0 {
		_ = c.Quit() // every message was accepted already
	}
	return sent, errors.Join(errs...)
}

func sendOne(c *smtp.Client, from, to string, msg []byte) error {
	if err := c.Mail(from, nil); err != nil {
		return err
	}
	if err := c.Rcpt(to, nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		_ = w.Close()
		return err
	}
	return w.Close()
}
