package openapi

import (
	"bytes"
	"compress/gzip"
	"crypto/sha512"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// document is one built OpenAPI document as served. It keeps only the
// gzip-compressed JSON (a tenth of its size, and what clients ask for): the
// spec objects it was built from are garbage once it exists. The protobuf
// form is made from the JSON on first request and kept compressed too.
type document struct {
	json     []byte // gzip of the JSON
	jsonSize int
	etag     string // upper-case hex SHA-512 of the JSON, as upstream; also the v3 hash
	modified time.Time

	toProto   func(json []byte) ([]byte, error)
	protoOnce sync.Once
	proto     []byte // gzip of the protobuf form
	protoSize int
	protoErr  error
}

func newDocument(json []byte, modified time.Time, toProto func([]byte) ([]byte, error)) (*document, error) {
	gz, err := compress(json)
	if err != nil {
		return nil, err
	}
	return &document{
		json: gz, jsonSize: len(json), etag: fmt.Sprintf("%X", sha512.Sum512(json)),
		modified: modified, toProto: toProto,
	}, nil
}

func compress(b []byte) ([]byte, error) {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.DefaultCompression)
	if err != nil {
		return nil, fmt.Errorf("compressing document: %w", err)
	}
	if _, err := zw.Write(b); err != nil {
		return nil, fmt.Errorf("compressing document: %w", err)
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("compressing document: %w", err)
	}
	return buf.Bytes(), nil
}

func decompress(gz []byte) ([]byte, error) {
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		return nil, fmt.Errorf("decompressing document: %w", err)
	}
	b, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("decompressing document: %w", err)
	}
	return b, nil
}

// protobuf returns the compressed protobuf form, making it on first use.
func (d *document) protobuf() ([]byte, int, error) {
	d.protoOnce.Do(func() {
		js, err := decompress(d.json)
		if err != nil {
			d.protoErr = err
			return
		}
		pb, err := d.toProto(js)
		if err != nil {
			d.protoErr = fmt.Errorf("converting document to protobuf: %w", err)
			return
		}
		d.protoSize = len(pb)
		d.proto, d.protoErr = compress(pb)
		releaseMemory()
	})
	return d.proto, d.protoSize, d.protoErr
}

// format is one representation a document is served in.
type format struct {
	typ, subtype string // as the client asks for it
	contentType  string // as the response names it
	protobuf     bool
}

// serve writes the document in format f with upstream's caching headers:
// an ETag (the same for every format, the response varies by Accept) that
// answers If-None-Match with 304, and gzip when the client accepts it.
func (d *document) serve(w http.ResponseWriter, r *http.Request, f format) {
	body, size := d.json, d.jsonSize
	if f.protobuf {
		var err error
		if body, size, err = d.protobuf(); err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
	}
	h := w.Header()
	h.Set("Content-Type", f.contentType)
	h.Set("Etag", strconv.Quote(d.etag))
	h.Set("Last-Modified", d.modified.UTC().Format(http.TimeFormat))
	h.Add("Vary", "Accept")
	h.Add("Vary", "Accept-Encoding")
	if etagMatches(r.Header.Get("If-None-Match"), d.etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	if acceptsGzip(r.Header.Get("Accept-Encoding")) {
		h.Set("Content-Encoding", "gzip")
		h.Set("Content-Length", strconv.Itoa(len(body)))
		if r.Method != http.MethodHead {
			_, _ = w.Write(body)
		}
		return
	}
	h.Set("Content-Length", strconv.Itoa(size))
	if r.Method == http.MethodHead {
		return
	}
	zr, err := gzip.NewReader(bytes.NewReader(body))
	if err != nil {
		http.Error(w, fmt.Sprintf("decompressing document: %v", err), http.StatusInternalServerError)
		return
	}
	_, _ = io.Copy(w, zr) // a failed write is the client's broken connection
}

// etagMatches reports whether an If-None-Match header names etag.
func etagMatches(header, etag string) bool {
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimPrefix(strings.TrimSpace(t), "W/")
		if t == "*" || t == strconv.Quote(etag) {
			return true
		}
	}
	return false
}

// acceptsGzip reports whether an Accept-Encoding header allows gzip.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		if c := strings.TrimSpace(coding); c != "gzip" && c != "*" {
			continue
		}
		q := strings.ReplaceAll(strings.TrimSpace(params), " ", "")
		return q != "q=0" && q != "q=0.0" && q != "q=0.00" && q != "q=0.000"
	}
	return false
}
