package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/openmms/mms/api"
)

// apiFlags locate the API and the credentials for the admin verbs.
type apiFlags struct {
	url, token, dataDir, tenant, output, profile string
	// outputs are the -o values the verb supports; the first is the default.
	outputs []string
	cmd     *cobra.Command
	// timeout bounds one request (0: 30 s). An import hands off a
	// migration per triggering row and a tenant delete waits for runs to
	// stop: they take longer.
	timeout time.Duration
}

func (a *apiFlags) register(cmd *cobra.Command) {
	a.cmd = cmd
	f := cmd.Flags()
	f.StringVar(&a.url, "api-url", env("MMS_API_URL", "http://127.0.0.1:8080"), "API base URL (MMS_API_URL)")
	f.StringVar(&a.token, "token", "", "API token (default: MMS_TOKEN, then <data-dir>/admin-token)")
	f.StringVar(&a.dataDir, "data-dir", env("MMS_DATA_DIR", ".mms"), "dev data directory holding admin-token (MMS_DATA_DIR)")
	f.StringVar(&a.tenant, "tenant", env("MMS_TENANT", ""), "tenant ID (MMS_TENANT)")
	if a.outputs == nil {
		a.outputs = []string{"table", "json"}
	}
	f.StringVarP(&a.output, "output", "o", a.outputs[0], "output: "+strings.Join(a.outputs, ", "))
	f.StringVar(&a.profile, "profile", "", "CLI profile for the API URL, token and tenant (MMS_PROFILE; default: the current one, see mms profile)")
	completeValues(cmd, "output", a.outputs...)
}

// fromProfile fills what neither a flag nor its MMS_* variable gave from
// the active profile.
func (a *apiFlags) fromProfile() error {
	p, err := activeProfile(a.profile)
	if err != nil {
		return err
	}
	given := func(flag, variable string) bool {
		return (a.cmd != nil && a.cmd.Flags().Changed(flag)) || os.Getenv(variable) != ""
	}
	if p.APIURL != "" && !given("api-url", "MMS_API_URL") {
		a.url = p.APIURL
	}
	if p.Tenant != "" && !given("tenant", "MMS_TENANT") {
		a.tenant = p.Tenant
	}
	if p.Token != "" && !given("token", "MMS_TOKEN") {
		a.token = p.Token
	}
	return nil
}

// tenantPath is the API path of the tenant's resource.
func (a *apiFlags) tenantPath(parts ...string) string {
	p := "/v1/tenants/" + url.PathEscape(a.tenant)
	for _, part := range parts {
		p += "/" + url.PathEscape(part)
	}
	return p
}

func (a *apiFlags) check() error {
	if err := a.fromProfile(); err != nil {
		return err
	}
	if a.tenant == "" {
		return errors.New("--tenant: required (or set MMS_TENANT, or a profile's tenant)")
	}
	return a.checkAuth()
}

// checkAuth is check for the verbs that name no tenant (mms tenant ...).
func (a *apiFlags) checkAuth() error {
	if !slices.Contains(a.outputs, a.output) {
		return fmt.Errorf("--output: %q is not one of %s", a.output, strings.Join(a.outputs, ", "))
	}
	if a.token == "" {
		a.token = os.Getenv("MMS_TOKEN")
	}
	if a.token == "" {
		raw, err := os.ReadFile(filepath.Join(a.dataDir, "admin-token"))
		if err != nil {
			return fmt.Errorf("no API token: pass --token, set MMS_TOKEN, or run where %s/admin-token exists", a.dataDir)
		}
		a.token = strings.TrimSpace(string(raw))
	}
	return nil
}

// call sends a request and decodes a 2xx JSON answer into out.
func (a *apiFlags) call(method, path string, body, out any) error {
	raw, err := a.send(method, path, body)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, out)
}

// apiError is why the API did not answer 2xx: status is the HTTP status, 0
// when the API could not be reached. send returns it wrapped in an
// exitError with status 2.
type apiError struct {
	status int
	msg    string
}

func (e *apiError) Error() string { return e.msg }

// transient reports an error worth retrying: the API unreachable, a 5xx or
// a 429 (not a refusal, nor a cancelled context).
func transient(err error) bool {
	var ae *apiError
	if errors.Is(err, context.Canceled) || !errors.As(err, &ae) {
		return false
	}
	return ae.status == 0 || ae.status >= 500 || ae.status == http.StatusTooManyRequests
}

// send sends a request and returns a 2xx answer's body. An error answer,
// or no answer, becomes exit status 2 with the API's message.
func (a *apiFlags) send(method, path string, body any) ([]byte, error) {
	return a.sendContext(context.Background(), method, path, body)
}

// callContext is call with a context (a watch stops on Ctrl-C).
func (a *apiFlags) callContext(ctx context.Context, method, path string, body, out any) error {
	raw, err := a.sendContext(ctx, method, path, body)
	if err != nil {
		return err
	}
	return json.Unmarshal(raw, out)
}

func (a *apiFlags) sendContext(ctx context.Context, method, path string, body any) ([]byte, error) {
	raw, _, err := a.exchange(ctx, method, path, body)
	return raw, err
}

// rawBody is a request body sent as it is (a directory file), not encoded
// as JSON.
type rawBody []byte

// exchange is sendContext that also returns the answer's headers (a CSV
// listing's paging travels in them).
func (a *apiFlags) exchange(ctx context.Context, method, path string, body any) ([]byte, http.Header, error) {
	var rd io.Reader
	contentType := "application/json"
	if file, ok := body.(rawBody); ok {
		rd = bytes.NewReader(file)
		if t := bytes.TrimLeft(file, " \t\r\n\xef\xbb\xbf"); len(t) == 0 || (t[0] != '[' && t[0] != '{') {
			contentType = "text/csv"
		}
	} else if body != nil {
		raw, err := json.Marshal(body)
		if err != nil {
			return nil, nil, err
		}
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequestWithContext(ctx, method, strings.TrimRight(a.url, "/")+path, rd)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Authorization", "Bearer "+a.token)
	req.Header.Set("Content-Type", contentType)
	timeout := a.timeout
	if timeout == 0 {
		timeout = 30 * time.Second
	}
	resp, err := (&http.Client{Timeout: timeout}).Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		return nil, nil, exitError{code: 2, err: &apiError{msg: fmt.Sprintf("API at %s: %v", a.url, err)}}
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		if ctx.Err() != nil {
			return nil, nil, ctx.Err()
		}
		return nil, nil, exitError{code: 2, err: &apiError{msg: fmt.Sprintf("API at %s: %v", a.url, err)}}
	}
	if resp.StatusCode/100 != 2 {
		var e struct{ Error api.Error }
		if json.Unmarshal(raw, &e) == nil && e.Error.Message != "" {
			return nil, nil, exitError{code: 2, err: &apiError{status: resp.StatusCode,
				msg: fmt.Sprintf("%s (%d %s)", e.Error.Message, resp.StatusCode, e.Error.Code)}}
		}
		return nil, nil, exitError{code: 2, err: &apiError{status: resp.StatusCode, msg: fmt.Sprintf("%s %s: %s", method, path, resp.Status)}}
	}
	return raw, resp.Header, nil
}

// print writes v as JSON or, for a table, with fn.
func (a *apiFlags) print(cmd *cobra.Command, v any, table func(io.Writer) error) error {
	if a.output == "json" {
		return printJSON(cmd.OutOrStdout(), v)
	}
	return table(cmd.OutOrStdout())
}
