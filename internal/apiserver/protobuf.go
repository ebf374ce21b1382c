package apiserver

import (
	"encoding/binary"
	"fmt"
	"net/http"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/sampan-dev/sampan/internal/resources"
)

// Responses in Kubernetes' protobuf encoding, which client-go decodes
// several times faster than JSON. An object on the wire is the magic
// "k8s\x00" followed by a runtime.Unknown envelope (apiVersion, kind) whose
// raw bytes are the object's own message. A list's message is its ListMeta
// (field 1) followed by one item message per object (field 2), which lets
// a LIST be assembled from per-object messages cached in the watch cache.
// A watch streams length-prefixed metav1.WatchEvent messages whose object is
// an enveloped object.

const (
	protobufMediaType      = "application/vnd.kubernetes.protobuf"
	protobufWatchMediaType = "application/vnd.kubernetes.protobuf;stream=watch"
)

var protobufMagic = []byte{'k', '8', 's', 0}

// protoMarshaler is what every generated Kubernetes API type implements.
type protoMarshaler interface {
	Marshal() ([]byte, error)
}

// protoMessage returns obj's protobuf message (no envelope).
func protoMessage(obj any) ([]byte, error) {
	m, ok := obj.(protoMarshaler)
	if !ok {
		return nil, fmt.Errorf("%T has no protobuf encoding", obj)
	}
	return m.Marshal()
}

// protoMessage returns the entry's message, computed once: the cache
// serves every GET, LIST and watcher of an object version from it.
func (e *entry) protoMessage() ([]byte, error) {
	e.protoOnce.Do(func() { e.proto, e.protoErr = protoMessage(e.obj) })
	return e.proto, e.protoErr
}

// servedProto returns the message of an entry in res's served version.
func (h *apiHandler) servedProto(res *resources.Resource, e *entry) ([]byte, error) {
	if res.StorageGVK == res.GVK() {
		return e.protoMessage()
	}
	obj, err := h.toServed(res, e.obj.DeepCopyObject())
	if err != nil {
		return nil, err
	}
	return protoMessage(obj)
}

// protoEnvelope wraps a message for gvk in the magic and a runtime.Unknown.
func protoEnvelope(gvk schema.GroupVersionKind, msg []byte) ([]byte, error) {
	u := runtime.Unknown{TypeMeta: runtime.TypeMeta{APIVersion: gvk.GroupVersion().String(), Kind: gvk.Kind}, Raw: msg}
	body := make([]byte, len(protobufMagic), len(protobufMagic)+u.Size())
	copy(body, protobufMagic)
	n := len(body)
	body = body[:n+u.Size()]
	if _, err := u.MarshalTo(body[n:]); err != nil {
		return nil, err
	}
	return body, nil
}

// protoList builds a list message from its metadata and item messages.
func protoList(listMeta *metav1.ListMeta, items [][]byte) ([]byte, error) {
	lm, err := listMeta.Marshal()
	if err != nil {
		return nil, err
	}
	size := 1 + binary.MaxVarintLen64 + len(lm)
	for _, it := range items {
		size += 1 + binary.MaxVarintLen64 + len(it)
	}
	b := make([]byte, 0, size)
	b = appendBytesField(b, 1, lm)
	for _, it := range items {
		b = appendBytesField(b, 2, it)
	}
	return b, nil
}

// appendBytesField appends a length-delimited field (wire type 2).
func appendBytesField(b []byte, field int, v []byte) []byte {
	b = binary.AppendUvarint(b, uint64(field)<<3|2)
	b = binary.AppendUvarint(b, uint64(len(v)))
	return append(b, v...)
}

// writeProto writes an enveloped message.
func writeProto(w http.ResponseWriter, code int, gvk schema.GroupVersionKind, msg []byte) {
	body, err := protoEnvelope(gvk, msg)
	if err != nil {
		writeError(w, err)
		return
	}
	w.Header().Set("Content-Type", protobufMediaType)
	w.WriteHeader(code)
	_, _ = w.Write(body)
}

// writeProtoObject writes obj (a generated API type) enveloped as gvk.
func writeProtoObject(w http.ResponseWriter, code int, gvk schema.GroupVersionKind, obj any) {
	msg, err := protoMessage(obj)
	if err != nil {
		writeError(w, err)
		return
	}
	writeProto(w, code, gvk, msg)
}

// protoWatchFrame encodes one watch event: a 4-byte big-endian length and
// a metav1.WatchEvent whose object is enveloped.
func protoWatchFrame(typ string, gvk schema.GroupVersionKind, msg []byte) ([]byte, error) {
	env, err := protoEnvelope(gvk, msg)
	if err != nil {
		return nil, err
	}
	ev := metav1.WatchEvent{Type: typ, Object: runtime.RawExtension{Raw: env}}
	frame := make([]byte, 4+ev.Size())
	binary.BigEndian.PutUint32(frame, uint32(ev.Size()))
	if _, err := ev.MarshalTo(frame[4:]); err != nil {
		return nil, err
	}
	return frame, nil
}
