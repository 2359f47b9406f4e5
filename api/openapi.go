package api

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/gin-gonic/gin"
	"go.yaml.in/yaml/v3"
)

// openAPIYAML is the API's OpenAPI 3 document, kept in the repository next
// to the handlers; a test checks that it lists exactly the routes served.
//
//go:embed openapi.yaml
var openAPIYAML []byte

// OpenAPIJSON returns the document as JSON.
func OpenAPIJSON() ([]byte, error) {
	var doc any
	if err := yaml.Unmarshal(openAPIYAML, &doc); err != nil {
		return nil, fmt.Errorf("openapi.yaml: %w", err)
	}
	return json.Marshal(doc)
}

var openAPIJSON = sync.OnceValues(OpenAPIJSON)

// serveOpenAPI answers with the document as JSON or, for a path ending in
// .yaml, as it is kept.
func (s *Server) serveOpenAPI(c *gin.Context) {
	if strings.HasSuffix(c.Request.URL.Path, ".yaml") {
		c.Data(http.StatusOK, "application/yaml", openAPIYAML)
		return
	}
	raw, err := openAPIJSON()
	if err != nil {
		s.internal(c, "openapi document", err)
		return
	}
	c.Data(http.StatusOK, "application/json", raw)
}
