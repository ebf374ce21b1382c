package bolt

import (
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/sampan-dev/sampan/internal/storage"
)

// A "keys" record is createRevision (8 bytes, big endian) | modRevision (8
// bytes) | value.
const kvHeader = 16

// encodeKV returns a fresh "keys" record. bbolt keeps a reference to the slice
// until the transaction commits, so it must not be reused before that.
func encodeKV(create, mod int64, value []byte) []byte {
	rec := make([]byte, kvHeader+len(value))
	binary.BigEndian.PutUint64(rec[0:8], uint64(create))
	binary.BigEndian.PutUint64(rec[8:16], uint64(mod))
	copy(rec[kvHeader:], value)
	return rec
}

// decodeKV decodes a "keys" record; with clone the value is copied out of
// bbolt's memory (needed for anything that outlives the transaction).
func decodeKV(key string, rec []byte, clone bool) (storage.KV, error) {
	if len(rec) < kvHeader {
		return storage.KV{}, fmt.Errorf("decoding key %q: record of %d bytes", key, len(rec))
	}
	kv := storage.KV{
		Key:            key,
		CreateRevision: int64(binary.BigEndian.Uint64(rec[0:8])),
		ModRevision:    int64(binary.BigEndian.Uint64(rec[8:16])),
		Value:          rec[kvHeader:],
	}
	if clone {
		kv.Value = cloneBytes(kv.Value)
	}
	return kv, nil
}

// A "history" record, keyed by its revision (8 bytes, big endian):
//
//	type (1 byte: 0 put, 1 delete)
//	uvarint createRevision
//	uvarint previous modRevision (0: the key did not exist)
//	uvarint len(key)   key
//	uvarint len(value) value     (put: the new value; delete: empty)
//	uvarint len(prev)  prev      (only when previous modRevision != 0)
const (
	histPut    = 0
	histDelete = 1
)

func encodeEvent(typ byte, key string, create, prevMod int64, value, prev []byte) []byte {
	n := 1 + 5*binary.MaxVarintLen64 + len(key) + len(value) + len(prev)
	b := make([]byte, 0, n)
	b = append(b, typ)
	b = binary.AppendUvarint(b, uint64(create))
	b = binary.AppendUvarint(b, uint64(prevMod))
	b = binary.AppendUvarint(b, uint64(len(key)))
	b = append(b, key...)
	b = binary.AppendUvarint(b, uint64(len(value)))
	b = append(b, value...)
	if prevMod != 0 {
		b = binary.AppendUvarint(b, uint64(len(prev)))
		b = append(b, prev...)
	}
	return b
}

var errShortRecord = errors.New("short record")

// recordReader reads the fields of a history record.
type recordReader struct {
	b   []byte
	err error
}

func (r *recordReader) uvarint() uint64 {
	if r.err != nil {
		return 0
	}
	v, n := binary.Uvarint(r.b)
	if n <= 0 {
		r.err = errShortRecord
		return 0
	}
	r.b = r.b[n:]
	return v
}

func (r *recordReader) bytes() []byte {
	n := r.uvarint()
	if r.err != nil {
		return nil
	}
	if uint64(len(r.b)) < n {
		r.err = errShortRecord
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

// eventKey returns the key of a history record without decoding the rest.
func eventKey(rec []byte) ([]byte, error) {
	if len(rec) < 1 {
		return nil, errShortRecord
	}
	r := recordReader{b: rec[1:]}
	r.uvarint()
	r.uvarint()
	key := r.bytes()
	return key, r.err
}

// decodeEvent decodes the history record of revision rev into an Event whose
// byte slices are copies (they outlive the transaction).
func decodeEvent(rev int64, rec []byte) (storage.Event, error) {
	if len(rec) < 1 {
		return storage.Event{}, fmt.Errorf("decoding history record %d: %w", rev, errShortRecord)
	}
	typ := rec[0]
	r := recordReader{b: rec[1:]}
	create := int64(r.uvarint())
	prevMod := int64(r.uvarint())
	key := string(r.bytes())
	value := r.bytes()
	var prev []byte
	if prevMod != 0 {
		prev = cloneBytes(r.bytes())
	}
	if r.err != nil {
		return storage.Event{}, fmt.Errorf("decoding history record %d: %w", rev, r.err)
	}
	var prevKV *storage.KV
	if prevMod != 0 {
		prevKV = &storage.KV{Key: key, Value: prev, CreateRevision: create, ModRevision: prevMod}
	}
	switch typ {
	case histPut:
		return storage.Event{
			Type:   storage.EventPut,
			KV:     storage.KV{Key: key, Value: cloneBytes(value), CreateRevision: create, ModRevision: rev},
			PrevKV: prevKV,
		}, nil
	case histDelete:
		if prevKV == nil {
			return storage.Event{}, fmt.Errorf("decoding history record %d: delete without previous value", rev)
		}
		return storage.Event{
			Type:   storage.EventDelete,
			KV:     storage.KV{Key: key, Value: prev, CreateRevision: create, ModRevision: rev},
			PrevKV: prevKV,
		}, nil
	}
	return storage.Event{}, fmt.Errorf("decoding history record %d: unknown type %d", rev, typ)
}

// cloneBytes copies b; nil and empty both give an empty non-nil slice so that
// values read back compare equal regardless of how they were stored.
func cloneBytes(b []byte) []byte {
	return append(make([]byte, 0, len(b)), b...)
}
