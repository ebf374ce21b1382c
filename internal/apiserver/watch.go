package apiserver

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/sampan-dev/sampan/internal/resources"
)

const (
	defaultWaitTimeout = 3 * time.Second
	bookmarkInterval   = 30 * time.Second
	minWatchTimeout    = 30 * time.Minute
)

// watchEvent is one event on the wire.
type watchEvent struct {
	Type   string          `json:"type"`
	Object json.RawMessage `json:"object"`
}

func (h *apiHandler) serveWatch(ctx context.Context, w http.ResponseWriter, r *http.Request, info *requestInfo, res *resources.Resource, f outputFormat) {
	q := r.URL.Query()
	sel, err := parseSelectors(r, res, info.Name)
	if err != nil {
		writeError(w, err)
		return
	}
	rv := q.Get("resourceVersion")
	sendInitial := q.Get("sendInitialEvents") == "true"
	if sendInitial && q.Get("resourceVersionMatch") != string(metav1.ResourceVersionMatchNotOlderThan) {
		writeError(w, apierrors.NewInvalid(schemaGK("meta.k8s.io", "ListOptions"), "", []*fieldError{
			fieldNotSupported("resourceVersionMatch", q.Get("resourceVersionMatch"), []string{string(metav1.ResourceVersionMatchNotOlderThan)}),
		}))
		return
	}
	bookmarks := q.Get("allowWatchBookmarks") == "true"
	timeout := minWatchTimeout + time.Duration(rand.Int64N(int64(minWatchTimeout)))
	if ts := q.Get("timeoutSeconds"); ts != "" {
		n, err := strconv.ParseInt(ts, 10, 64)
		if err != nil || n < 0 {
			writeError(w, apierrors.NewBadRequest(fmt.Sprintf("invalid timeoutSeconds %q", ts)))
			return
		}
		timeout = time.Duration(n) * time.Second
	}

	var fromRev int64
	initial := sendInitial
	switch {
	case rv == "" || rv == "0":
		// "Start at most recent", with the current state as synthetic ADDED events.
		initial = true
		if rv == "" {
			if err := h.waitForRV(ctx, ""); err != nil {
				writeError(w, err)
				return
			}
		}
	default:
		n, err := strconv.ParseInt(rv, 10, 64)
		if err != nil || n < 0 {
			writeError(w, apierrors.NewBadRequest(fmt.Sprintf("invalid resource version %q", rv)))
			return
		}
		if err := h.waitForRV(ctx, rv); err != nil {
			writeError(w, err)
			return
		}
		fromRev = n
	}
	if !initial && sendInitial {
		initial = true
	}
	prefix := res.NamespacePrefix(info.Namespace)
	if sel.name != "" && (info.Namespace != "" || !res.Namespaced) {
		prefix = res.Key(info.Namespace, sel.name)
	}

	flusher, ok := w.(http.Flusher)
	if !ok {
		writeError(w, apierrors.NewInternalError(fmt.Errorf("streaming unsupported")))
		return
	}
	cw, err := h.cache.watch(res, prefix, fromRev, initial, nil)
	h.metrics.watchers.WithLabelValues(res.GVR.Group, res.GVR.Resource).Inc()
	defer h.metrics.watchers.WithLabelValues(res.GVR.Group, res.GVR.Resource).Dec()
	ws := &watchStream{h: h, res: res, f: f, w: w, enc: json.NewEncoder(w), sel: sel, includeObject: q.Get("includeObject") == "Object"}
	if f.protobuf {
		w.Header().Set("Content-Type", protobufWatchMediaType)
	} else {
		w.Header().Set("Content-Type", "application/json")
	}
	w.Header().Set("Transfer-Encoding", "chunked")
	w.Header().Set("Cache-Control", "no-cache, private")
	w.WriteHeader(http.StatusOK)
	if err != nil {
		var st metav1.Status
		if err == errTooOld {
			st = apierrors.NewResourceExpired(fmt.Sprintf("too old resource version: %d (%d)", fromRev, h.cache.revision())).ErrStatus
		} else {
			st = *toStatus(apierrors.NewInternalError(err))
		}
		st.APIVersion, st.Kind = "v1", "Status"
		_ = ws.emit("ERROR", st.GroupVersionKind(), &st)
		flusher.Flush()
		return
	}
	defer cw.Stop()
	flusher.Flush()

	lastRev := fromRev
	for _, ev := range cw.backlog {
		if err := ws.send(ev); err != nil {
			return
		}
		if ev.rev > lastRev {
			lastRev = ev.rev
		}
	}
	if initial {
		if cw.initialRev > lastRev {
			lastRev = cw.initialRev
		}
		if sendInitial && bookmarks {
			if err := ws.bookmark(lastRev, true); err != nil {
				return
			}
		}
	}
	flusher.Flush()

	timer := h.clock.NewTimer(timeout)
	defer timer.Stop()
	var tick <-chan time.Time
	if bookmarks {
		ticker := h.clock.NewTicker(bookmarkInterval)
		defer ticker.Stop()
		tick = ticker.C()
	}
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C():
			return
		case <-cw.done:
			// Dropped for being too slow, or the cache is resetting: the client re-watches.
			return
		case ev := <-cw.ch:
			if ev.rev <= lastRev {
				continue // already sent in the backlog
			}
			lastRev = ev.rev
			if err := ws.send(ev); err != nil {
				return
			}
			// Drain what is queued before flushing, to batch writes.
			for drained := false; !drained; {
				select {
				case ev := <-cw.ch:
					if ev.rev <= lastRev {
						continue
					}
					lastRev = ev.rev
					if err := ws.send(ev); err != nil {
						return
					}
				default:
					drained = true
				}
			}
			flusher.Flush()
		case <-tick:
			if rev := h.cache.revision(); rev > lastRev {
				lastRev = rev
			}
			if err := ws.bookmark(lastRev, false); err != nil {
				return
			}
			flusher.Flush()
		}
	}
}

// watchStream encodes cache events for one watch.
type watchStream struct {
	h             *apiHandler
	res           *resources.Resource
	f             outputFormat
	w             io.Writer
	enc           *json.Encoder
	sel           *selectors
	includeObject bool
	sentColumns   bool
}

// send writes ev if it concerns the watch's selection: an object that moves
// into the selection is ADDED, one that moves out is DELETED, as upstream.
func (ws *watchStream) send(ev *cacheEvent) error {
	curMatch := ws.sel.matches(ev.cur)
	prevMatch := ev.prev != nil && ws.sel.matches(ev.prev)
	typ := ev.typ
	switch ev.typ {
	case "ADDED":
		if !curMatch {
			return nil
		}
	case "MODIFIED":
		switch {
		case curMatch && prevMatch:
		case curMatch:
			typ = "ADDED"
		case prevMatch:
			typ = "DELETED"
		default:
			return nil
		}
	case "DELETED":
		if !curMatch {
			return nil
		}
	}
	if ws.f.protobuf {
		return ws.sendProto(typ, ev.cur)
	}
	raw, err := ws.encode(ev.cur)
	if err != nil {
		return err
	}
	return ws.enc.Encode(watchEvent{Type: typ, Object: raw})
}

// sendProto writes an object event in protobuf: the cached message of the
// entry, or its metadata.
func (ws *watchStream) sendProto(typ string, e *entry) error {
	if ws.f.kind == outputPartialMetadata {
		pm := partialMetadata(e.obj, ws.f.tableVersion)
		return ws.emit(typ, pm.GroupVersionKind(), pm)
	}
	msg, err := ws.h.servedProto(ws.res, e)
	if err != nil {
		return err
	}
	return ws.emitMessage(typ, ws.res.GVK(), msg)
}

// emit writes an event carrying obj in the stream's encoding.
func (ws *watchStream) emit(typ string, gvk schema.GroupVersionKind, obj runtime.Object) error {
	if ws.f.protobuf {
		msg, err := protoMessage(obj)
		if err != nil {
			return err
		}
		return ws.emitMessage(typ, gvk, msg)
	}
	obj.GetObjectKind().SetGroupVersionKind(gvk)
	raw, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	return ws.enc.Encode(watchEvent{Type: typ, Object: raw})
}

func (ws *watchStream) emitMessage(typ string, gvk schema.GroupVersionKind, msg []byte) error {
	frame, err := protoWatchFrame(typ, gvk, msg)
	if err != nil {
		return err
	}
	_, err = ws.w.Write(frame)
	return err
}

func (ws *watchStream) encode(e *entry) ([]byte, error) {
	switch ws.f.kind {
	case outputTable:
		obj, err := ws.h.toServed(ws.res, e.obj)
		if err != nil {
			return nil, err
		}
		t, err := ws.h.table(ws.res, []runtime.Object{obj}, strconv.FormatInt(e.rev, 10), "", ws.f, ws.includeObject)
		if err != nil {
			return nil, err
		}
		if ws.sentColumns {
			t.ColumnDefinitions = nil
		}
		ws.sentColumns = true
		return json.Marshal(t)
	case outputPartialMetadata:
		return json.Marshal(partialMetadata(e.obj, ws.f.tableVersion))
	}
	return ws.h.servedJSON(ws.res, e)
}

// bookmark sends a BOOKMARK event carrying only a resourceVersion.
func (ws *watchStream) bookmark(rev int64, initialEnd bool) error {
	if ws.f.protobuf {
		return ws.bookmarkProto(rev, initialEnd)
	}
	m := map[string]interface{}{"resourceVersion": strconv.FormatInt(rev, 10)}
	if initialEnd {
		m["annotations"] = map[string]string{metav1.InitialEventsAnnotationKey: "true"}
	}
	// The bookmark's kind is the kind the watch streams.
	obj := map[string]interface{}{"kind": ws.res.Kind, "apiVersion": ws.res.GVR.GroupVersion().String(), "metadata": m}
	switch ws.f.kind {
	case outputTable:
		obj = map[string]interface{}{"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": m, "columnDefinitions": nil, "rows": nil}
	case outputPartialMetadata:
		obj = map[string]interface{}{"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/" + ws.f.tableVersion, "metadata": m}
	}
	raw, err := json.Marshal(obj)
	if err != nil {
		return err
	}
	return ws.enc.Encode(watchEvent{Type: "BOOKMARK", Object: raw})
}

// bookmarkProto sends a BOOKMARK in protobuf: an empty object of the
// watched kind (or PartialObjectMetadata) carrying the resourceVersion.
func (ws *watchStream) bookmarkProto(rev int64, initialEnd bool) error {
	var obj runtime.Object
	gvk := ws.res.GVK()
	if ws.f.kind == outputPartialMetadata {
		pm := &metav1.PartialObjectMetadata{}
		gvk = schema.GroupVersionKind{Group: "meta.k8s.io", Version: ws.f.tableVersion, Kind: "PartialObjectMetadata"}
		obj = pm
	} else {
		obj = ws.res.New()
	}
	acc, err := meta.Accessor(obj)
	if err != nil {
		return err
	}
	acc.SetResourceVersion(strconv.FormatInt(rev, 10))
	if initialEnd {
		acc.SetAnnotations(map[string]string{metav1.InitialEventsAnnotationKey: "true"})
	}
	return ws.emit("BOOKMARK", gvk, obj)
}
