package controlplane

import (
	"net/http"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/sampan-dev/sampan/internal/apiserver"
	"github.com/sampan-dev/sampan/internal/apiserver/openapi"
	"github.com/sampan-dev/sampan/internal/resources"
	"github.com/sampan-dev/sampan/internal/resources/conversion"
	"github.com/sampan-dev/sampan/internal/resources/defaults"
	"github.com/sampan-dev/sampan/internal/resources/printers"
	"github.com/sampan-dev/sampan/internal/resources/validation"
)

// Behaviour wires the per-kind logic of internal/resources/* into the API server.
func Behaviour() apiserver.Behaviour {
	return apiserver.Behaviour{
		Default:              defaults.Default,
		Convert:              conversion.Convert,
		ToScale:              conversion.ToScale,
		ApplyScale:           conversion.ApplyScale,
		ValidateCreate:       validation.ValidateCreate,
		ValidateUpdate:       validation.ValidateUpdate,
		ValidateStatusUpdate: validation.ValidateStatusUpdate,
		Printer: func(gk schema.GroupKind) ([]metav1.TableColumnDefinition, func(runtime.Object, time.Time) ([]interface{}, error), bool) {
			p, ok := printers.For(gk)
			if !ok {
				return nil, nil, false
			}
			return p.Columns, p.Row, true
		},
	}
}

// openAPIHandler serves /openapi/v2 and /openapi/v3 for the served resources.
func openAPIHandler(reg *resources.Registry) http.Handler {
	mux := http.NewServeMux()
	openapi.New(reg).Install(mux)
	return mux
}
