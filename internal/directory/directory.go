// Package directory reads an organisation's directory of users and their
// audio-conferencing profiles from the files admins already have: the CSV
// that `Get-CsOnlineDialInConferencingUser | Export-Csv` writes, the JSON of
// `... | ConvertTo-Json`, and mms's own JSON list (the body of
// PUT /v1/tenants/{tenant}/users/{user}, plus "user"). It only reads: what
// an entry changes, and whether that migrates anyone, is decided by the
// import (internal/intake).
//
// Every entry is checked here, so a malformed row is refused before
// anything is read from the store, with its position (a CSV line number or
// a JSON array index) and its field.
package directory

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/openmms/mms/internal/meetingblock"
	"github.com/openmms/mms/internal/migration"
)

// Bounds of one import. A tenant's whole directory rarely exceeds them; a
// larger one is imported in parts. A row of the cmdlet's CSV is about
// 300-600 bytes, so MaxRows rows fit well inside MaxBytes.
const (
	MaxBytes = 8 << 20 // 8 MiB
	MaxRows  = 10000
)

// ErrTooLarge: the file is larger than MaxBytes or has more than MaxRows
// rows. Nothing is imported.
var ErrTooLarge = errors.New("too large")

// Formats of a directory file.
const (
	FormatCSV        = "csv"        // Get-CsOnlineDialInConferencingUser | Export-Csv
	FormatCmdletJSON = "cmdletJson" // Get-CsOnlineDialInConferencingUser | ConvertTo-Json
	FormatMMSJSON    = "mmsJson"    // [{"user", "displayName", "profile"}]
)

// Entry is one user of the file.
type Entry struct {
	// Row is the entry's position, from 1; Line its line in a CSV file.
	Row, Line int
	// User is the canonical user ID (migration.ParseUserID).
	User string
	// DisplayName; "" keeps the stored one.
	DisplayName string
	// Profile replaces the stored profile entirely when Replace (mms's
	// list, as PUT does); otherwise DialIn says which dial-in fields of the
	// stored profile the file sets (the cmdlet's export carries nothing
	// else: the meeting type and join link stay).
	Replace bool
	Profile meetingblock.Profile
	DialIn  DialIn
}

// DialIn holds the dial-in fields a cmdlet export sets; nil: not in the file.
type DialIn struct {
	ConferenceID    *string
	TollNumber      *string
	TollFreeNumbers *[]string
	BridgeID        *string
	Provider        *string
}

// Apply sets the fields the file carries on p. A user the cmdlet lists is
// on Microsoft's audio conferencing unless its Provider column says
// otherwise.
func (d DialIn) Apply(p meetingblock.Profile) meetingblock.Profile {
	set := func(dst *string, v *string) {
		if v != nil {
			*dst = *v
		}
	}
	set(&p.ConferenceID, d.ConferenceID)
	set(&p.TollNumber, d.TollNumber)
	if d.TollFreeNumbers != nil {
		p.TollFreeNumbers = append([]string(nil), (*d.TollFreeNumbers)...)
		if len(p.TollFreeNumbers) == 0 {
			p.TollFreeNumbers = nil
		}
	}
	set(&p.BridgeID, d.BridgeID)
	set(&p.Provider, d.Provider)
	return p
}

// Error is a malformed entry (or file): Where names it ("line 5", "[3]",
// "file") and Field the column or JSON field.
type Error struct {
	Row, Line int
	Where     string
	Field     string
	Message   string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return e.Where + ": " + e.Message
	}
	if strings.HasPrefix(e.Where, "[") {
		return e.Where + "." + e.Field + ": " + e.Message
	}
	return e.Where + ": " + e.Field + ": " + e.Message
}

// Path names the field as the API's 400 does.
func (e *Error) Path() string {
	if e.Field == "" {
		return e.Where
	}
	if strings.HasPrefix(e.Where, "[") {
		return e.Where + "." + e.Field
	}
	return e.Where + ": " + e.Field
}

// Column names the column of the cmdlet's export that fills a profile field,
// so an error found on the merged profile names what the admin sees.
func Column(field string) string {
	base, idx, _ := strings.Cut(field, "[")
	col, ok := map[string]string{"conferenceId": "ConferenceId", "tollNumber": "ServiceNumber",
		"tollFreeNumbers": "TollFreeServiceNumber", "bridgeId": "BridgeId", "provider": "Provider"}[base]
	if !ok {
		return field
	}
	if idx != "" {
		return col + "[" + idx
	}
	return col
}

// Parse reads a directory file: JSON when it starts with '[' or '{', CSV
// otherwise. It returns the format and the entries, a *Error naming the
// first malformed entry and field, or ErrTooLarge.
func Parse(data []byte) (string, []Entry, error) {
	if len(data) > MaxBytes {
		return "", nil, fmt.Errorf("file: larger than %d bytes: %w", MaxBytes, ErrTooLarge)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf")) // Windows PowerShell writes a BOM
	if bytes.HasPrefix(data, []byte{0xff, 0xfe}) || bytes.HasPrefix(data, []byte{0xfe, 0xff}) {
		return "", nil, &Error{Where: "file", Message: "UTF-16 is not read: export with -Encoding UTF8"}
	}
	if !utf8.Valid(data) {
		return "", nil, &Error{Where: "file", Message: "must be UTF-8 text (export with -Encoding UTF8)"}
	}
	trimmed := bytes.TrimLeft(data, " \t\r\n")
	if len(trimmed) == 0 {
		return "", nil, &Error{Where: "file", Message: "empty"}
	}
	if trimmed[0] == '[' || trimmed[0] == '{' {
		return parseJSON(trimmed)
	}
	entries, err := parseCSV(data)
	return FormatCSV, entries, err
}

// Columns of the cmdlet's export that the import reads (matched without
// regard to case); every other column (SipAddress, Domain, AllowTollFreeDialIn, ...) is ignored.
const (
	colIdentity = "identity"
	colUPN      = "userprincipalname"
	colName     = "displayname"
	colConfID   = "conferenceid"
	colToll     = "servicenumber"
	colTollFree = "tollfreeservicenumber"
	colBridgeID = "bridgeid"
	colBridge   = "bridgename"
	colProvider = "provider"
)

var columnNames = map[string]string{colIdentity: "Identity", colUPN: "UserPrincipalName", colName: "DisplayName",
	colConfID: "ConferenceId", colToll: "ServiceNumber", colTollFree: "TollFreeServiceNumber",
	colBridgeID: "BridgeId", colBridge: "BridgeName", colProvider: "Provider"}

// record is one user's values by lower-case column name (absent: not in
// the file).
type record map[string]string

func parseCSV(data []byte) ([]Entry, error) {
	r := csv.NewReader(bytes.NewReader(data))
	r.FieldsPerRecord = -1 // checked below, with the line number
	r.ReuseRecord = false
	var header []string
	var entries []Entry
	seen := map[string]int{}
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		line, _ := r.FieldPos(0)
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				return nil, &Error{Line: pe.Line, Where: fmt.Sprintf("line %d", pe.Line), Message: "malformed CSV: " + pe.Err.Error()}
			}
			return nil, &Error{Where: "file", Message: err.Error()}
		}
		if header == nil {
			// Export-Csv writes "#TYPE <.NET type>" first unless
			// -NoTypeInformation (the default from PowerShell 6 on).
			if len(rec) >= 1 && strings.HasPrefix(rec[0], "#TYPE") {
				continue
			}
			header = make([]string, len(rec))
			for i, h := range rec {
				header[i] = strings.ToLower(strings.TrimSpace(h))
			}
			if !contains(header, colIdentity) && !contains(header, colUPN) {
				return nil, &Error{Line: line, Where: fmt.Sprintf("line %d", line), Message: "the header names no Identity (or UserPrincipalName) column"}
			}
			continue
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		where := fmt.Sprintf("line %d", line)
		if len(rec) != len(header) {
			return nil, &Error{Line: line, Where: where, Message: fmt.Sprintf("has %d fields, the header %d", len(rec), len(header))}
		}
		if len(entries) == MaxRows {
			return nil, fmt.Errorf("file: more than %d rows: %w", MaxRows, ErrTooLarge)
		}
		values := record{}
		for i, h := range header {
			if _, known := columnNames[h]; known {
				values[h] = rec[i]
			}
		}
		e, err := cmdletEntry(values, len(entries)+1, line, where)
		if err != nil {
			return nil, err
		}
		if first, dup := seen[e.User]; dup {
			return nil, &Error{Row: e.Row, Line: line, Where: where, Field: identityColumn(values),
				Message: fmt.Sprintf("%s is also on line %d", e.User, first)}
		}
		seen[e.User] = line
		entries = append(entries, e)
	}
	if header == nil {
		return nil, &Error{Where: "file", Message: "no header line"}
	}
	return entries, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func identityColumn(r record) string {
	if v, ok := r[colUPN]; ok && strings.TrimSpace(v) != "" {
		return "UserPrincipalName"
	}
	return "Identity"
}

// cmdletEntry reads one user of the cmdlet's output.
func cmdletEntry(r record, row, line int, where string) (Entry, error) {
	e := Entry{Row: row, Line: line}
	bad := func(col, format string, args ...any) error {
		return &Error{Row: row, Line: line, Where: where, Field: col, Message: fmt.Sprintf(format, args...)}
	}
	idCol := identityColumn(r)
	id := strings.TrimSpace(r[strings.ToLower(idCol)])
	if err := refuseFormula(id, false); err != nil {
		return e, bad(idCol, "%v", err)
	}
	user, err := UserID(id)
	if err != nil {
		return e, bad(idCol, "%v", err)
	}
	e.User = user
	e.DisplayName = strings.TrimSpace(r[colName])
	if len(e.DisplayName) > 256 {
		return e, bad("DisplayName", "at most 256 bytes")
	}
	if strings.IndexFunc(e.DisplayName, unicode.IsControl) >= 0 {
		return e, bad("DisplayName", "must be printable: no control characters")
	}
	field := func(col string, phone bool) (*string, error) {
		v, ok := r[col]
		if !ok {
			return nil, nil
		}
		v = strings.TrimSpace(v)
		if err := refuseFormula(v, phone); err != nil {
			return nil, bad(columnNames[col], "%v", err)
		}
		return &v, nil
	}
	if e.DialIn.ConferenceID, err = field(colConfID, false); err != nil {
		return e, err
	}
	if e.DialIn.TollNumber, err = field(colToll, true); err != nil {
		return e, err
	}
	if free, err := field(colTollFree, true); err != nil {
		return e, err
	} else if free != nil {
		list, err := numberList(*free)
		if err != nil {
			return e, bad("TollFreeServiceNumber", "%v", err)
		}
		e.DialIn.TollFreeNumbers = &list
	}
	// The bridge's ID is what a bridge event names; an export without it
	// identifies the bridge by its name.
	bridgeCol := colBridgeID
	if v, ok := r[colBridgeID]; !ok || strings.TrimSpace(v) == "" {
		if _, ok := r[colBridge]; ok {
			bridgeCol = colBridge
		}
	}
	if e.DialIn.BridgeID, err = field(bridgeCol, false); err != nil {
		return e, err
	}
	if v, ok := r[colProvider]; ok {
		p := provider(strings.TrimSpace(v))
		e.DialIn.Provider = &p
	} else {
		p := meetingblock.ProviderMicrosoft
		e.DialIn.Provider = &p
	}
	// Each value's own format, named by its column; the merged profile is
	// checked again by the import.
	check := meetingblock.Profile{MeetingType: string(meetingblock.KindTeams), Provider: meetingblock.ProviderThirdParty}
	check = e.DialIn.Apply(check)
	check.Provider = meetingblock.ProviderThirdParty // no rule relating fields here: only formats
	if err := check.Validate(); err != nil {
		first := strings.SplitN(err.Error(), "\n", 2)[0]
		f, msg, _ := strings.Cut(first, ": ")
		col := Column(f)
		if f == "bridgeId" && bridgeCol == colBridge {
			col = "BridgeName"
		}
		return e, bad(col, "%s", msg)
	}
	return e, nil
}

// provider maps the cmdlet's Provider to the profile's: the cmdlet lists
// Microsoft's users; a third party's name (as Get-CsUserAcp shows it) is a
// third party.
func provider(v string) string {
	switch strings.ToLower(v) {
	case "", "microsoft":
		return meetingblock.ProviderMicrosoft
	case "none":
		return meetingblock.ProviderNone
	}
	return meetingblock.ProviderThirdParty
}

// numberList splits a toll-free column: Export-Csv writes a list property
// as its .NET type name, so the admin joins it first (-join ';').
func numberList(v string) ([]string, error) {
	if strings.HasPrefix(v, "System.") && strings.HasSuffix(v, "[]") {
		return nil, errors.New("is PowerShell's name of a list, not the numbers: export it with " +
			"@{n='TollFreeServiceNumber';e={$_.TollFreeServiceNumber -join ';'}}")
	}
	var out []string
	for _, n := range strings.FieldsFunc(v, func(r rune) bool { return r == ';' || r == ',' }) {
		if n = strings.TrimSpace(n); n != "" {
			out = append(out, n)
		}
	}
	return out, nil
}

// refuseFormula refuses a value that a spreadsheet would run as a formula
// (OWASP's CSV injection characters): an ID or number never begins so, and
// storing one would hand it to whoever opens a later export. A phone number
// may begin with '+' (the checks of its format refuse the rest).
func refuseFormula(v string, phone bool) error {
	if v == "" {
		return nil
	}
	switch v[0] {
	case '=', '-', '@', '\t', '\r':
		return fmt.Errorf("begins with %q: a spreadsheet formula, not a value", v[0])
	case '+':
		if !phone {
			return fmt.Errorf("begins with %q: a spreadsheet formula, not a value", v[0])
		}
	}
	return nil
}

// UserID maps the cmdlet's Identity to mms's user ID: a user principal name
// as it is, a SIP URI ("sip:alice@contoso.com") by its address, which in
// Teams is the UPN unless an admin changed it. A distinguished name
// ("CN=...,OU=...") or an object ID names no mailbox mms can address: the
// admin exports UserPrincipalName instead (docs/ARCHITECTURE.md).
func UserID(identity string) (string, error) {
	if len(identity) >= 4 && strings.EqualFold(identity[:4], "sip:") {
		identity = identity[4:]
	}
	id, err := migration.ParseUserID(identity)
	if err != nil {
		if identity != "" && !strings.Contains(identity, "@") {
			return "", errors.New("must be a user principal name or sip: address such as alice@contoso.com " +
				"(a distinguished name or object ID cannot be mapped: export UserPrincipalName)")
		}
		return "", err
	}
	return id, nil
}

// parseJSON reads a JSON array (or the lone object ConvertTo-Json writes
// for one user) of cmdlet objects or of mms users.
func parseJSON(data []byte) (string, []Entry, error) {
	var items []json.RawMessage
	if data[0] == '{' {
		items = []json.RawMessage{data}
		if err := json.Unmarshal(data, new(map[string]json.RawMessage)); err != nil {
			return "", nil, &Error{Where: "file", Message: "malformed JSON: " + err.Error()}
		}
	} else if err := json.Unmarshal(data, &items); err != nil {
		return "", nil, &Error{Where: "file", Message: "malformed JSON: " + err.Error()}
	}
	if len(items) > MaxRows {
		return "", nil, fmt.Errorf("file: more than %d rows: %w", MaxRows, ErrTooLarge)
	}
	format := ""
	var entries []Entry
	seen := map[string]int{}
	for i, raw := range items {
		where := fmt.Sprintf("[%d]", i)
		var keys map[string]json.RawMessage
		if err := json.Unmarshal(raw, &keys); err != nil || keys == nil {
			return "", nil, &Error{Row: i + 1, Where: where, Message: "must be a JSON object"}
		}
		kind := FormatCmdletJSON
		if _, ok := keys["user"]; ok {
			kind = FormatMMSJSON
		}
		if format == "" {
			format = kind
		} else if kind != format {
			return "", nil, &Error{Row: i + 1, Where: where, Message: "mixes mms users (\"user\") with the cmdlet's objects (\"Identity\")"}
		}
		var e Entry
		var err error
		if kind == FormatMMSJSON {
			e, err = mmsEntry(raw, i+1, where)
		} else {
			e, err = cmdletJSONEntry(keys, i+1, where)
		}
		if err != nil {
			return "", nil, err
		}
		if first, dup := seen[e.User]; dup {
			field := "user"
			if kind == FormatCmdletJSON {
				field = "Identity"
			}
			return "", nil, &Error{Row: i + 1, Where: where, Field: field, Message: fmt.Sprintf("%s is also at [%d]", e.User, first)}
		}
		seen[e.User] = i
		entries = append(entries, e)
	}
	if format == "" {
		format = FormatMMSJSON
	}
	return format, entries, nil
}

// mmsUser is one element of mms's own list.
type mmsUser struct {
	User        string                `json:"user"`
	DisplayName string                `json:"displayName"`
	Profile     *meetingblock.Profile `json:"profile"`
}

func mmsEntry(raw json.RawMessage, row int, where string) (Entry, error) {
	bad := func(field, msg string) error {
		return &Error{Row: row, Where: where, Field: field, Message: msg}
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	var u mmsUser
	if err := dec.Decode(&u); err != nil {
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &te):
			return Entry{}, bad(te.Field, "must be "+te.Type.String()+", not "+te.Value)
		case strings.HasPrefix(err.Error(), "json: unknown field "):
			return Entry{}, bad(strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`), "unknown field")
		}
		return Entry{}, bad("", err.Error())
	}
	if err := refuseFormula(u.User, false); err != nil {
		return Entry{}, bad("user", err.Error())
	}
	id, err := migration.ParseUserID(u.User)
	if err != nil {
		return Entry{}, bad("user", err.Error())
	}
	if u.Profile == nil {
		return Entry{}, bad("profile", "required")
	}
	if len(u.DisplayName) > 256 {
		return Entry{}, bad("displayName", "at most 256 bytes")
	}
	if strings.IndexFunc(u.DisplayName, unicode.IsControl) >= 0 {
		return Entry{}, bad("displayName", "must be printable: no control characters")
	}
	if err := u.Profile.Validate(); err != nil {
		first := strings.SplitN(err.Error(), "\n", 2)[0]
		f, msg, _ := strings.Cut(first, ": ")
		return Entry{}, bad("profile."+f, msg)
	}
	return Entry{Row: row, User: id, DisplayName: u.DisplayName, Replace: true, Profile: *u.Profile}, nil
}

// cmdletJSONEntry reads one object of ConvertTo-Json: the same properties
// as the CSV's columns, with numbers as JSON numbers or strings and the
// toll-free numbers as a string or an array.
func cmdletJSONEntry(keys map[string]json.RawMessage, row int, where string) (Entry, error) {
	r := record{}
	for k, v := range keys {
		col := strings.ToLower(k)
		name, known := columnNames[col]
		if !known {
			continue
		}
		s, err := jsonScalar(v)
		if err != nil {
			return Entry{}, &Error{Row: row, Where: where, Field: name, Message: err.Error()}
		}
		r[col] = s
	}
	if _, ok := r[colIdentity]; !ok {
		if _, ok := r[colUPN]; !ok {
			return Entry{}, &Error{Row: row, Where: where, Field: "Identity", Message: "required"}
		}
	}
	return cmdletEntry(r, row, 0, where)
}

// jsonScalar reads a property as text: a string, a number, null (empty) or
// an array of them (joined with ';', as a toll-free list is).
func jsonScalar(v json.RawMessage) (string, error) {
	v = bytes.TrimSpace(v)
	switch {
	case len(v) == 0 || string(v) == "null":
		return "", nil
	case v[0] == '"':
		var s string
		err := json.Unmarshal(v, &s)
		return s, err
	case v[0] == '[':
		var list []json.RawMessage
		if err := json.Unmarshal(v, &list); err != nil {
			return "", err
		}
		parts := make([]string, 0, len(list))
		for _, item := range list {
			s, err := jsonScalar(item)
			if err != nil || strings.HasPrefix(string(bytes.TrimSpace(item)), "[") {
				return "", errors.New("must be a string, a number or a list of them")
			}
			parts = append(parts, s)
		}
		return strings.Join(parts, ";"), nil
	case v[0] == '-' || (v[0] >= '0' && v[0] <= '9'):
		var n json.Number
		if err := json.Unmarshal(v, &n); err != nil {
			return "", err
		}
		return n.String(), nil
	}
	return "", errors.New("must be a string, a number or a list of them")
}
