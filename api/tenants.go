package api

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/openmms/mms/internal/directory"
)

// CreateTenantRequest is the body of POST /v1/tenants; the service checks
// it (intake.Service.CreateTenant).
type CreateTenantRequest struct {
	ID          string `json:"id"`
	DisplayName string `json:"displayName"`
}

func (s *Server) createTenant(c *gin.Context) {
	var req CreateTenantRequest
	if !bind(c, &req) {
		return
	}
	t, err := s.Intake.CreateTenant(c.Request.Context(), req.ID, req.DisplayName)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.Header("Location", "/v1/tenants/"+t.ID)
	c.JSON(http.StatusCreated, t)
}

// deleteTenant cancels the tenant's running migrations, then purges it;
// the answer counts what was cancelled and purged.
func (s *Server) deleteTenant(c *gin.Context) {
	wait := s.TenantCancelWait
	if wait == 0 {
		wait = DefaultTenantCancelWait
	}
	out, err := s.Intake.DeleteTenant(c.Request.Context(), c.Param("tenant"), token(c).Name, wait)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, out)
}

// DefaultTenantCancelWait is how long DELETE /v1/tenants/{tenant} lets
// cancelled runs stop after their current page before terminating them.
const DefaultTenantCancelWait = 30 * time.Second

// importUsers imports a directory file (CSV or JSON: internal/directory)
// sent as the body, as it is: the body is the file, not a JSON wrapper, so
// `curl --data-binary @users.csv` works. ?dryRun=true reports without
// writing.
func (s *Server) importUsers(c *gin.Context) {
	dryRun := false
	if raw := c.Query("dryRun"); raw != "" {
		v, err := strconv.ParseBool(raw)
		if err != nil {
			badRequest(c, "dryRun: must be true or false")
			return
		}
		dryRun = v
	}
	body := http.MaxBytesReader(c.Writer, c.Request.Body, directory.MaxBytes)
	file, err := io.ReadAll(body)
	var maxErr *http.MaxBytesError
	switch {
	case errors.As(err, &maxErr):
		abort(c, http.StatusRequestEntityTooLarge, "too_large",
			fmt.Sprintf("body: larger than %d bytes; import the directory in parts", directory.MaxBytes))
		return
	case err != nil:
		badRequest(c, "body: "+err.Error())
		return
	}
	res, err := s.Intake.ImportUsers(c.Request.Context(), c.Param("tenant"), token(c).Name, file, dryRun)
	if err != nil {
		s.fail(c, err)
		return
	}
	c.JSON(http.StatusOK, res)
}
