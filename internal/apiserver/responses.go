package apiserver

import (
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
)

// outputKind is what a client asked the response to be, from its Accept header.
type outputKind int

const (
	outputObject          outputKind = iota // the object (or list) itself
	outputTable                             // meta.k8s.io Table
	outputPartialMetadata                   // meta.k8s.io PartialObjectMetadata(List)
)

// outputFormat is a negotiated response format.
type outputFormat struct {
	kind         outputKind
	yaml         bool
	tableVersion string // v1 or v1beta1
	pretty       bool
	protobuf     bool // objects and metadata only; tables are always JSON
}

// negotiate reads Accept. The first type we can produce wins, as upstream.
func negotiate(r *http.Request) (outputFormat, error) {
	f := outputFormat{pretty: r.URL.Query().Get("pretty") == "true" || r.URL.Query().Get("pretty") == "1"}
	accept := r.Header.Get("Accept")
	if strings.TrimSpace(accept) == "" {
		return f, nil
	}
	for _, part := range strings.Split(accept, ",") {
		mt, params, err := mime.ParseMediaType(strings.TrimSpace(part))
		if err != nil {
			continue
		}
		f.yaml, f.protobuf = false, false
		switch mt {
		case "application/json", "*/*", "application/*":
		case "application/yaml":
			f.yaml = true
		case protobufMediaType:
			if params["as"] == "Table" {
				continue
			}
			f.protobuf = true
		default:
			continue
		}
		switch params["as"] {
		case "":
			f.kind = outputObject
		case "Table":
			if params["g"] != "meta.k8s.io" || (params["v"] != "v1" && params["v"] != "v1beta1") {
				continue
			}
			f.kind, f.tableVersion = outputTable, params["v"]
		case "PartialObjectMetadata", "PartialObjectMetadataList":
			if params["g"] != "meta.k8s.io" || (params["v"] != "v1" && params["v"] != "v1beta1") {
				continue
			}
			f.kind, f.tableVersion = outputPartialMetadata, params["v"]
		default:
			continue
		}
		return f, nil
	}
	return f, &apierrors.StatusError{ErrStatus: metav1.Status{Status: metav1.StatusFailure, Code: http.StatusNotAcceptable, Reason: metav1.StatusReasonNotAcceptable,
		Message: "only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf, application/json;as=Table;v=v1;g=meta.k8s.io"}}
}

// writeRaw writes JSON bytes in the negotiated format.
func writeRaw(w http.ResponseWriter, f outputFormat, code int, j []byte) {
	if f.yaml {
		y, err := toYAML(j)
		if err == nil {
			w.Header().Set("Content-Type", "application/yaml")
			w.WriteHeader(code)
			_, _ = w.Write(y)
			return
		}
	}
	if f.pretty {
		j = indentJSON(j)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_, _ = w.Write(j)
}

// writeObject encodes obj as JSON (or YAML) with the given status code.
func writeObject(w http.ResponseWriter, f outputFormat, code int, obj interface{}) {
	j, err := json.Marshal(obj)
	if err != nil {
		writeError(w, apierrors.NewInternalError(fmt.Errorf("encoding response: %w", err)))
		return
	}
	writeRaw(w, f, code, j)
}

// writeError writes err as a Kubernetes Status.
func writeError(w http.ResponseWriter, err error) {
	st := toStatus(err)
	st.APIVersion, st.Kind = "v1", "Status"
	j, _ := json.Marshal(st)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(int(st.Code))
	_, _ = w.Write(j)
}

func toStatus(err error) *metav1.Status {
	var se apierrors.APIStatus
	if errors.As(err, &se) {
		st := se.Status()
		if st.Code == 0 {
			st.Code = http.StatusInternalServerError
		}
		if st.Status == "" {
			st.Status = metav1.StatusFailure
		}
		return &st
	}
	st := apierrors.NewInternalError(err).ErrStatus
	return &st
}

// statusSuccess is the Status returned by a DELETE that removed the object.
func statusSuccess(group, kind, name string, uid string) *metav1.Status {
	return &metav1.Status{
		TypeMeta: metav1.TypeMeta{APIVersion: "v1", Kind: "Status"},
		Status:   metav1.StatusSuccess,
		Details:  &metav1.StatusDetails{Name: name, Group: group, Kind: kind, UID: types.UID(uid)},
	}
}

func addWarnings(w http.ResponseWriter, warnings []string) {
	for _, msg := range warnings {
		w.Header().Add("Warning", fmt.Sprintf("299 - %q", msg))
	}
}

// encodeObject marshals a typed object to JSON.
func encodeObject(obj runtime.Object) ([]byte, error) { return json.Marshal(obj) }
