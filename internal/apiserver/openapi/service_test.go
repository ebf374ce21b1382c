package openapi

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"

	openapi_v2 "github.com/google/gnostic-models/openapiv2"
	openapi_v3 "github.com/google/gnostic-models/openapiv3"
	"google.golang.org/protobuf/proto"
	"k8s.io/kube-openapi/pkg/handler3"

	"github.com/sampan-dev/sampan/internal/resources"
)

type reply struct {
	code   int
	header http.Header
	body   []byte
}

// fetch sends one request without the transport's transparent gzip, so
// the test sees what the server sends.
func fetch(t *testing.T, method, url string, header map[string]string) reply {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	client := &http.Client{
		Transport:     &http.Transport{DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		if body, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	return reply{resp.StatusCode, resp.Header, body}
}

func listing(t *testing.T, base string) handler3.OpenAPIV3Discovery {
	t.Helper()
	r := fetch(t, http.MethodGet, base+"/openapi/v3", nil)
	if r.code != http.StatusOK {
		t.Fatalf("GET /openapi/v3: %d %s", r.code, r.body)
	}
	var l handler3.OpenAPIV3Discovery
	if err := json.Unmarshal(r.body, &l); err != nil {
		t.Fatal(err)
	}
	return l
}

func TestServing(t *testing.T) {
	mux := http.NewServeMux()
	New(resources.Builtin()).Install(mux)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	l := listing(t, srv.URL)
	for _, name := range []string{"api", "api/v1", "apis", "apis/apps", "apis/apps/v1", "apis/rbac.authorization.k8s.io/v1", "version"} {
		if u := l.Paths[name].ServerRelativeURL; !strings.HasPrefix(u, "/openapi/v3/"+name+"?hash=") {
			t.Errorf("listing of %s: %q", name, u)
		}
	}
	apps := l.Paths["apis/apps/v1"].ServerRelativeURL
	appsHash := strings.TrimPrefix(apps, "/openapi/v3/apis/apps/v1?hash=")
	v2 := fetch(t, http.MethodGet, srv.URL+"/openapi/v2", nil)
	v2Etag := v2.header.Get("Etag")

	protoV2 := "application/com.github.proto-openapi.spec.v2@v1.0+protobuf"
	protoV3 := "application/com.github.proto-openapi.spec.v3@v1.0+protobuf"
	tests := []struct {
		name, method, path string
		header             map[string]string
		code               int
		want               map[string]string // response headers
		check              func(t *testing.T, body []byte)
	}{
		{name: "v2 json", method: "GET", path: "/openapi/v2", code: 200,
			want: map[string]string{"Content-Type": "application/json"},
			check: func(t *testing.T, b []byte) {
				if !bytes.Contains(b, []byte(`"swagger":"2.0"`)) {
					t.Errorf("not a v2 document: %.100s", b)
				}
			}},
		{name: "v2 protobuf", method: "GET", path: "/openapi/v2", header: map[string]string{"Accept": protoV2 + ", application/json"}, code: 200,
			want: map[string]string{"Content-Type": "application/com.github.proto-openapi.spec.v2.v1.0+protobuf", "Etag": v2Etag},
			check: func(t *testing.T, b []byte) {
				var doc openapi_v2.Document
				if err := proto.Unmarshal(b, &doc); err != nil || doc.Swagger != "2.0" {
					t.Errorf("protobuf document: %v, swagger %q", err, doc.Swagger)
				}
			}},
		{name: "v2 gzip", method: "GET", path: "/openapi/v2", header: map[string]string{"Accept-Encoding": "gzip"}, code: 200,
			want: map[string]string{"Content-Encoding": "gzip"},
			check: func(t *testing.T, b []byte) {
				if !bytes.Equal(b, v2.body) {
					t.Error("gzip body differs from the plain one")
				}
			}},
		{name: "v2 not modified", method: "GET", path: "/openapi/v2", header: map[string]string{"If-None-Match": v2Etag}, code: 304},
		{name: "v2 not acceptable", method: "GET", path: "/openapi/v2", header: map[string]string{"Accept": "text/html"}, code: 406},
		{name: "v2 post", method: "POST", path: "/openapi/v2", code: 405},
		{name: "v2 head", method: "HEAD", path: "/openapi/v2", code: 200,
			want: map[string]string{"Content-Length": strconv.Itoa(len(v2.body))}},
		{name: "v3 hash link", method: "GET", path: apps, code: 200,
			want: map[string]string{"Content-Type": "application/json", "Cache-Control": "public, immutable", "Etag": strconv.Quote(appsHash)},
			check: func(t *testing.T, b []byte) {
				if !bytes.Contains(b, []byte(`"io.k8s.api.apps.v1.Deployment"`)) {
					t.Error("apps/v1 document has no Deployment")
				}
			}},
		{name: "v3 without hash", method: "GET", path: "/openapi/v3/apis/apps/v1", code: 200,
			want: map[string]string{"Cache-Control": "", "Etag": strconv.Quote(appsHash)}},
		{name: "v3 old hash", method: "GET", path: "/openapi/v3/apis/apps/v1?hash=0123", code: 301,
			want: map[string]string{"Location": apps}},
		{name: "v3 protobuf", method: "GET", path: apps, header: map[string]string{"Accept": protoV3}, code: 200,
			want: map[string]string{"Content-Type": "application/com.github.proto-openapi.spec.v3.v1.0+protobuf"},
			check: func(t *testing.T, b []byte) {
				var doc openapi_v3.Document
				if err := proto.Unmarshal(b, &doc); err != nil || !strings.HasPrefix(doc.Openapi, "3.") {
					t.Errorf("protobuf document: %v, openapi %q", err, doc.Openapi)
				}
			}},
		{name: "v3 not modified", method: "GET", path: apps, header: map[string]string{"If-None-Match": strconv.Quote(appsHash)}, code: 304},
		{name: "v3 unknown", method: "GET", path: "/openapi/v3/apis/example.com/v1", code: 404},
		{name: "v3 delete", method: "DELETE", path: "/openapi/v3/api/v1", code: 405},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := fetch(t, tc.method, srv.URL+tc.path, tc.header)
			if r.code != tc.code {
				t.Fatalf("%s %s: %d, want %d: %.200s", tc.method, tc.path, r.code, tc.code, r.body)
			}
			for k, v := range tc.want {
				if got := r.header.Get(k); got != v {
					t.Errorf("%s: %q, want %q", k, got, v)
				}
			}
			if tc.check != nil {
				tc.check(t, r.body)
			}
		})
	}
}

// TestStableHashes: a restarted server must give the same links, or every
// client would refetch every document after each restart. The first requests
// come at once, as they do when several clients start together.
func TestStableHashes(t *testing.T) {
	var got []handler3.OpenAPIV3Discovery
	for i := 0; i < 2; i++ {
		mux := http.NewServeMux()
		New(resources.Builtin()).Install(mux)
		srv := httptest.NewServer(mux)
		var wg sync.WaitGroup
		for _, path := range []string{"/openapi/v2", "/openapi/v3/api/v1", "/openapi/v3/apis/apps/v1"} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				req, _ := http.NewRequest(http.MethodGet, srv.URL+path, nil)
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					t.Error(err)
					return
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					t.Errorf("GET %s: %d", path, resp.StatusCode)
				}
			}()
		}
		got = append(got, listing(t, srv.URL))
		wg.Wait()
		srv.Close()
	}
	for name, gv := range got[0].Paths {
		if got[1].Paths[name] != gv {
			t.Errorf("%s: %s, then %s", name, gv.ServerRelativeURL, got[1].Paths[name].ServerRelativeURL)
		}
	}
}

func TestAcceptsGzip(t *testing.T) {
	tests := []struct {
		header string
		want   bool
	}{
		{"", false},
		{"gzip", true},
		{"gzip, deflate, br", true},
		{"deflate, gzip;q=1.0, *;q=0.5", true},
		{"gzip;q=0", false},
		{"br", false},
		{"*", true},
	}
	for _, tc := range tests {
		if got := acceptsGzip(tc.header); got != tc.want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", tc.header, got, tc.want)
		}
	}
}
