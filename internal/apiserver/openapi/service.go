// Package openapi serves the OpenAPI documents of the served API:
// /openapi/v2 (one document, JSON or protobuf) and /openapi/v3 (a listing of
// per group-version documents at /openapi/v3/api/v1?hash=…,
// /openapi/v3/apis/apps/v1?hash=…). kubectl explain, client-side and
// server-side field validation, apply's strategic merge patch and client
// generators read them.
//
// Paths, operation ids, parameters and extensions follow upstream; schemas
// come from the definitions openapi-gen generated from k8s.io/api (package
// generated). Documents are built by kube-openapi's builders on first
// request and then kept gzip-compressed only.
package openapi

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"path"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	openapi_v2 "github.com/google/gnostic-models/openapiv2"
	openapi_v3 "github.com/google/gnostic-models/openapiv3"
	"github.com/munnerz/goautoneg"
	"google.golang.org/protobuf/proto"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/kube-openapi/pkg/handler3"

	"github.com/sampan-dev/sampan/internal/resources"
)

// Formats of /openapi/v2 and /openapi/v3 documents, in order of preference
// when a client accepts several.
var (
	formatsV2 = []format{
		{"application", "json", "application/json", false},
		{"application", "com.github.proto-openapi.spec.v2@v1.0+protobuf", "application/com.github.proto-openapi.spec.v2.v1.0+protobuf", true},
		{"application", "com.github.proto-openapi.spec.v2.v1.0+protobuf", "application/com.github.proto-openapi.spec.v2.v1.0+protobuf", true},
	}
	formatsV3 = []format{
		{"application", "json", "application/json", false},
		{"application", "com.github.proto-openapi.spec.v3@v1.0+protobuf", "application/com.github.proto-openapi.spec.v3.v1.0+protobuf", true},
		{"application", "com.github.proto-openapi.spec.v3.v1.0+protobuf", "application/com.github.proto-openapi.spec.v3.v1.0+protobuf", true},
	}
)

const v3Prefix = "/openapi/v3"

// Service serves the OpenAPI documents of a registry's resources. The
// documents are a function of the binary and the registry: each is built
// once, and a failed build (a bug: tests build them all) is not retried.
type Service struct {
	cat *catalog

	v2Once sync.Once
	v2     *document
	v2Err  error

	v3Once sync.Once
	v3     map[string]*document // by name: "api/v1", "apis/apps/v1", "apis/apps", "api", "apis", "version"
	v3Root *document            // the listing at /openapi/v3
	v3Err  error
}

// New returns a Service for the resources of reg. Nothing is built until a
// document is first requested.
func New(reg *resources.Registry) *Service {
	return &Service{cat: newCatalog(reg, scheme.Scheme)}
}

// Install registers /openapi/v2, /openapi/v3 and /openapi/v3/ on mux.
func (s *Service) Install(mux *http.ServeMux) {
	mux.HandleFunc("/openapi/v2", s.serveV2)
	mux.HandleFunc(v3Prefix, s.serveV3Root)
	mux.HandleFunc(v3Prefix+"/", s.serveV3)
}

func (s *Service) serveV2(w http.ResponseWriter, r *http.Request) {
	if !readOnly(w, r) {
		return
	}
	f, ok := negotiate(r, formatsV2)
	if !ok {
		http.Error(w, "406: the OpenAPI v2 document is served as application/json or protobuf", http.StatusNotAcceptable)
		return
	}
	doc, err := s.documentV2()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	doc.serve(w, r, f)
}

func (s *Service) serveV3Root(w http.ResponseWriter, r *http.Request) {
	if !readOnly(w, r) {
		return
	}
	if _, err := s.documentsV3(); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	s.v3Root.serve(w, r, formatsV3[0])
}

func (s *Service) serveV3(w http.ResponseWriter, r *http.Request) {
	if !readOnly(w, r) {
		return
	}
	docs, err := s.documentsV3()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	name := strings.TrimPrefix(r.URL.Path, v3Prefix+"/")
	doc, ok := docs[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	f, ok := negotiate(r, formatsV3)
	if !ok {
		http.Error(w, "406: OpenAPI v3 documents are served as application/json or protobuf", http.StatusNotAcceptable)
		return
	}
	if hash := r.URL.Query().Get("hash"); hash != "" {
		if hash != doc.etag {
			// An old link: send the client to the current document, as upstream.
			http.Redirect(w, r, hashURL(name, doc.etag), http.StatusMovedPermanently)
			return
		}
		// The link names this content for good.
		w.Header().Set("Cache-Control", "public, immutable")
		w.Header().Set("Expires", time.Now().AddDate(1, 0, 0).UTC().Format(http.TimeFormat))
	}
	doc.serve(w, r, f)
}

// readOnly answers anything but GET and HEAD with 405.
func readOnly(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	http.Error(w, "405: method not allowed", http.StatusMethodNotAllowed)
	return false
}

// negotiate picks the first of formats the Accept header allows (none: JSON).
func negotiate(r *http.Request, formats []format) (format, bool) {
	accept := r.Header.Get("Accept")
	if accept == "" {
		return formats[0], true
	}
	for _, c := range goautoneg.ParseAccept(accept) {
		if c.Q == 0 {
			continue
		}
		for _, f := range formats {
			if (c.Type == f.typ || c.Type == "*") && (c.SubType == f.subtype || c.SubType == "*") {
				return f, true
			}
		}
	}
	return format{}, false
}

// hashURL is the link of a v3 document in the listing: /openapi/v3/apis/apps/v1?hash=….
func hashURL(name, etag string) string {
	u := url.URL{Path: path.Join(v3Prefix, name), RawQuery: url.Values{"hash": {etag}}.Encode()}
	return u.String()
}

func (s *Service) documentV2() (*document, error) {
	s.v2Once.Do(func() {
		sw, err := s.cat.buildV2()
		if err != nil {
			s.v2Err = err
			return
		}
		js, err := sw.MarshalJSON()
		if err != nil {
			s.v2Err = fmt.Errorf("encoding OpenAPI v2 document: %w", err)
			return
		}
		s.v2, s.v2Err = newDocument(js, time.Now(), protoV2)
		releaseMemory()
	})
	return s.v2, s.v2Err
}

// documentsV3 builds every v3 document at once: the listing carries the
// hash of each, so the first request of any needs them all.
func (s *Service) documentsV3() (map[string]*document, error) {
	s.v3Once.Do(func() {
		s.v3, s.v3Root, s.v3Err = s.buildV3()
		releaseMemory()
	})
	return s.v3, s.v3Err
}

func (s *Service) buildV3() (map[string]*document, *document, error) {
	b, err := s.cat.v3Builder()
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	docs := map[string]*document{}
	listing := handler3.OpenAPIV3Discovery{Paths: map[string]handler3.OpenAPIV3DiscoveryGroupVersion{}}
	for _, name := range b.names() {
		spec, err := b.build(name)
		if err != nil {
			return nil, nil, err
		}
		js, err := json.Marshal(spec)
		if err != nil {
			return nil, nil, fmt.Errorf("encoding OpenAPI v3 document %q: %w", name, err)
		}
		doc, err := newDocument(js, now, protoV3)
		if err != nil {
			return nil, nil, err
		}
		docs[name] = doc
		listing.Paths[name] = handler3.OpenAPIV3DiscoveryGroupVersion{ServerRelativeURL: hashURL(name, doc.etag)}
	}
	js, err := json.Marshal(listing)
	if err != nil {
		return nil, nil, fmt.Errorf("encoding OpenAPI v3 listing: %w", err)
	}
	root, err := newDocument(js, now, nil)
	if err != nil {
		return nil, nil, err
	}
	return docs, root, nil
}

// releaseMemory returns the garbage of a build to the system. Building the
// documents allocates tens of MiB (the whole definitions table, the spec
// objects, their JSON, for protobuf a YAML tree of it) that are garbage once
// the compressed document exists; left to the background scavenger the
// process would keep that much more resident for minutes. Builds happen once
// per process, so the forced collection is paid once.
func releaseMemory() { debug.FreeOSMemory() }

func protoV2(js []byte) ([]byte, error) {
	doc, err := openapi_v2.ParseDocument(js)
	if err != nil {
		return nil, err
	}
	return proto.Marshal(doc)
}

func protoV3(js []byte) ([]byte, error) {
	doc, err := openapi_v3.ParseDocument(js)
	if err != nil {
		return nil, err
	}
	return proto.Marshal(doc)
}
