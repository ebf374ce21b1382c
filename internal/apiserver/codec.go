package apiserver

import (
	"net/http"

	"bytes"
	"encoding/json"
	"fmt"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"mime"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kjson "k8s.io/apimachinery/pkg/runtime/serializer/json"
	"k8s.io/apimachinery/pkg/runtime/serializer/protobuf"
	"k8s.io/client-go/kubernetes/scheme"
	sigsjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/sampan-dev/sampan/internal/resources"
)

// codec turns bodies into typed objects and objects into stored and served bytes.
type codec struct {
	strictJSON *kjson.Serializer
	strictYAML *kjson.Serializer
	protobuf   *protobuf.Serializer
}

func newCodec() *codec {
	return &codec{
		strictJSON: kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme.Scheme, scheme.Scheme, kjson.SerializerOptions{Strict: true}),
		strictYAML: kjson.NewSerializerWithOptions(kjson.DefaultMetaFactory, scheme.Scheme, scheme.Scheme, kjson.SerializerOptions{Yaml: true, Strict: true}),
		protobuf:   protobuf.NewSerializer(scheme.Scheme, scheme.Scheme),
	}
}

// decodeStored decodes a stored value into a new object of res's storage kind.
func (c *codec) decodeStored(res *resources.Resource, data []byte) (runtime.Object, error) {
	obj := res.NewStorage()
	if err := sigsjson.UnmarshalCaseSensitivePreserveInts(data, obj); err != nil {
		return nil, fmt.Errorf("decoding %s: %w", res.StorageGVK, err)
	}
	obj.GetObjectKind().SetGroupVersionKind(res.StorageGVK)
	return obj, nil
}

// encodeStored encodes obj for the store: apiVersion and kind first, no resourceVersion.
func (c *codec) encodeStored(obj runtime.Object) ([]byte, error) {
	acc, err := meta.Accessor(obj)
	if err != nil {
		return nil, err
	}
	rv := acc.GetResourceVersion()
	acc.SetResourceVersion("")
	defer acc.SetResourceVersion(rv)
	return json.Marshal(obj)
}

// fieldValidation is the fieldValidation query parameter.
type fieldValidation string

const (
	validationIgnore fieldValidation = "Ignore"
	validationWarn   fieldValidation = "Warn"
	validationStrict fieldValidation = "Strict"
)

func parseFieldValidation(v string) (fieldValidation, error) {
	switch v {
	case "", "Warn":
		return validationWarn, nil
	case "Ignore":
		return validationIgnore, nil
	case "Strict":
		return validationStrict, nil
	}
	return "", apierrors.NewBadRequest(fmt.Sprintf("fieldValidation must be one of \"Ignore\", \"Warn\", or \"Strict\", got %q", v))
}

// mediaType returns the bare media type of a Content-Type header.
func mediaType(h string) string {
	if h == "" {
		return ""
	}
	mt, _, err := mime.ParseMediaType(h)
	if err != nil {
		return strings.ToLower(strings.TrimSpace(strings.SplitN(h, ";", 2)[0]))
	}
	return mt
}

// decodeBody decodes a request body into a new object of kind gvk.
// Unknown and duplicate fields are errors, warnings or ignored per fv.
func (c *codec) decodeBody(contentType string, body []byte, gvk schema.GroupVersionKind, fv fieldValidation) (runtime.Object, []string, error) {
	into, err := scheme.Scheme.New(gvk)
	if err != nil {
		return nil, nil, apierrors.NewInternalError(err)
	}
	var s runtime.Decoder
	switch mediaType(contentType) {
	case "", "application/json", "*/*":
		s = c.strictJSON
	case "application/yaml", "application/x-yaml", "text/yaml":
		s = c.strictYAML
	case runtime.ContentTypeProtobuf:
		obj, actual, err := c.protobuf.Decode(body, &gvk, into)
		if err != nil {
			return nil, nil, decodeError(err, actual, gvk)
		}
		if err := checkKind(actual, gvk); err != nil {
			return nil, nil, err
		}
		obj.GetObjectKind().SetGroupVersionKind(gvk)
		return obj, nil, nil
	default:
		return nil, nil, unsupportedMediaType(contentType)
	}
	// Check apiVersion and kind before decoding, for upstream's messages.
	var tm metav1.TypeMeta
	if err := yaml.Unmarshal(body, &tm); err != nil {
		return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("the object provided is unrecognized (must be of type %s): %v", gvk.Kind, err))
	}
	if tm.APIVersion != "" || tm.Kind != "" {
		actual := schema.FromAPIVersionAndKind(tm.APIVersion, tm.Kind)
		if tm.APIVersion == "" {
			actual.Group, actual.Version = gvk.Group, gvk.Version
		}
		if tm.Kind == "" {
			actual.Kind = gvk.Kind
		}
		if err := checkKind(&actual, gvk); err != nil {
			return nil, nil, err
		}
	}
	obj, actual, err := s.Decode(body, &gvk, into)
	var warnings []string
	if err != nil {
		if sde, ok := runtime.AsStrictDecodingError(err); ok && obj != nil {
			switch fv {
			case validationStrict:
				return nil, nil, apierrors.NewBadRequest(fmt.Sprintf("%s in version %q cannot be handled as a %s: %v", gvk.Kind, gvk.Version, gvk.Kind, err))
			case validationWarn:
				for _, e := range sde.Errors() {
					warnings = append(warnings, e.Error())
				}
			}
		} else {
			return nil, nil, decodeError(err, actual, gvk)
		}
	}
	if err := checkKind(actual, gvk); err != nil {
		return nil, nil, err
	}
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	return obj, warnings, nil
}

// decodeOptions decodes an options body (DeleteOptions, Eviction, Binding)
// sent as JSON, YAML or protobuf into into.
func (c *codec) decodeOptions(contentType string, body []byte, into runtime.Object) error {
	var err error
	switch mediaType(contentType) {
	case runtime.ContentTypeProtobuf:
		_, _, err = c.protobuf.Decode(body, nil, into)
	case "application/yaml":
		err = yaml.Unmarshal(body, into)
	default:
		err = json.Unmarshal(body, into)
	}
	if err != nil {
		return apierrors.NewBadRequest(fmt.Sprintf("decoding %T: %v", into, err))
	}
	return nil
}

func checkKind(actual *schema.GroupVersionKind, gvk schema.GroupVersionKind) error {
	if actual == nil {
		return nil
	}
	if actual.GroupVersion() != gvk.GroupVersion() {
		return apierrors.NewBadRequest(fmt.Sprintf("the API version in the data (%s) does not match the expected API version (%s)", actual.GroupVersion(), gvk.GroupVersion()))
	}
	if actual.Kind != gvk.Kind {
		return apierrors.NewBadRequest(fmt.Sprintf("%s in version %q cannot be handled as a %s: the kind in the data does not match the expected kind", actual.Kind, actual.Version, gvk.Kind))
	}
	return nil
}

func decodeError(err error, actual *schema.GroupVersionKind, gvk schema.GroupVersionKind) error {
	if actual != nil && actual.Kind != "" {
		return apierrors.NewBadRequest(fmt.Sprintf("%s in version %q cannot be handled as a %s: %v", actual.Kind, actual.Version, gvk.Kind, err))
	}
	return apierrors.NewBadRequest(fmt.Sprintf("the object provided is unrecognized (must be of type %s): %v", gvk.Kind, err))
}

// toYAML converts JSON to YAML for application/yaml responses.
func toYAML(j []byte) ([]byte, error) { return yaml.JSONToYAML(j) }

// indentJSON pretty-prints JSON (?pretty=true).
func indentJSON(j []byte) []byte {
	var buf bytes.Buffer
	if err := json.Indent(&buf, j, "", "  "); err != nil {
		return j
	}
	buf.WriteByte('\n')
	return buf.Bytes()
}

func unsupportedMediaType(contentType string) error {
	return &apierrors.StatusError{ErrStatus: metav1.Status{
		Status:  metav1.StatusFailure,
		Code:    http.StatusUnsupportedMediaType,
		Reason:  metav1.StatusReasonUnsupportedMediaType,
		Message: fmt.Sprintf("the body of the request was in an unknown format - accepted media types include: application/json, application/yaml (got %q)", contentType),
	}}
}
