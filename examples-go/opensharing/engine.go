// Package opensharing serves OpenSharing / Delta Sharing endpoints from a Go program by linking
// libopensharing through cgo. An Engine holds the configuration; a Handler is an http.Handler
// that drives the engine's exchange loop for each request and answers its IO needs from a
// Storage (LocalDisk serves the configuration's local stores).
//
// It links the static library built by `cargo build --release --lib` at the repository root.
package opensharing

/*
#cgo CFLAGS: -I${SRCDIR}/../../include
#cgo LDFLAGS: ${SRCDIR}/../../target/release/libopensharing.a -lpthread -ldl -lm
#include <stdlib.h>
#include "opensharing.h"
*/
import "C"

import (
	"errors"
	"fmt"
	"runtime"
	"unsafe"
)

// Error is a failed library call: its result code and the library's detail.
type Error struct {
	// Code is the C result code (OPENSHARING_*).
	Code int
	// Detail is the library's message for the failure.
	Detail string
}

func (e *Error) Error() string { return fmt.Sprintf("opensharing: %s (code %d)", e.Detail, e.Code) }

// Result codes a caller may test for with errors.As.
const (
	CodeInvalidConfig = int(C.OPENSHARING_INVALID_CONFIG)
	CodeNotFound      = int(C.OPENSHARING_NOT_FOUND)
	CodeInvalidState  = int(C.OPENSHARING_INVALID_STATE)
)

// ErrNotFound is what a Storage returns for an object that does not exist.
var ErrNotFound = errors.New("opensharing: object not found")

// check turns a result code into nil or an *Error with the thread's last error detail. The
// detail is read on the same OS thread as the call: callers lock the goroutine to its thread
// around both (see call).
func check(r C.opensharing_result) error {
	if r == C.OPENSHARING_OK {
		return nil
	}
	var n C.size_t
	if C.opensharing_last_error(nil, 0, &n) == C.OPENSHARING_OK && n > 0 {
		buf := make([]byte, int(n))
		if C.opensharing_last_error((*C.uint8_t)(unsafe.Pointer(&buf[0])), n, &n) == C.OPENSHARING_OK {
			return &Error{Code: int(r), Detail: string(buf[:int(n)])}
		}
	}
	return &Error{Code: int(r), Detail: C.GoString(C.opensharing_result_message(C.uint32_t(r)))}
}

// call runs one library call and reads its error detail on the same OS thread.
func call(f func() C.opensharing_result) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	return check(f())
}

// cbuf is C memory holding a copy of Go bytes; free releases it.
type cbuf struct {
	ptr *C.uint8_t
	len C.size_t
}

func newCbuf(b []byte) cbuf {
	if len(b) == 0 {
		return cbuf{}
	}
	return cbuf{(*C.uint8_t)(C.CBytes(b)), C.size_t(len(b))}
}

func (b cbuf) free() { C.free(unsafe.Pointer(b.ptr)) }

// arena owns C copies of Go strings until free.
type arena []unsafe.Pointer

func (a *arena) bytes(b []byte) (*C.uint8_t, C.size_t) {
	c := newCbuf(b)
	*a = append(*a, unsafe.Pointer(c.ptr))
	return c.ptr, c.len
}

func (a *arena) str(s string) (*C.uint8_t, C.size_t) { return a.bytes([]byte(s)) }

func (a *arena) free() {
	for _, p := range *a {
		C.free(p)
	}
}

func gostr(s C.opensharing_str) string {
	return C.GoStringN((*C.char)(unsafe.Pointer(s.ptr)), C.int(s.len))
}

func take(b C.opensharing_bytes) string {
	defer C.opensharing_bytes_free(b)
	return C.GoStringN((*C.char)(unsafe.Pointer(b.ptr)), C.int(b.len))
}

// Engine is a configured engine. It is safe for concurrent use.
type Engine struct {
	raw *C.opensharing_engine
}

// NewEngine creates an engine from configuration JSON. Relative local store roots are
// resolved against baseDir (the configuration file's directory), in this configuration and
// in every reload; with baseDir "" they stay relative to the working directory. Close it
// when done.
func NewEngine(config []byte, baseDir string) (*Engine, error) {
	var a arena
	defer a.free()
	p, n := a.bytes(config)
	var dir *C.uint8_t
	var dirLen C.size_t
	if baseDir != "" {
		dir, dirLen = a.str(baseDir)
	}
	e := &Engine{}
	if err := call(func() C.opensharing_result { return C.opensharing_engine_new(p, n, dir, dirLen, &e.raw) }); err != nil {
		return nil, err
	}
	return e, nil
}

// Reload replaces the configuration atomically; on error the engine keeps the current one.
func (e *Engine) Reload(config []byte) error {
	var a arena
	defer a.free()
	p, n := a.bytes(config)
	return call(func() C.opensharing_result { return C.opensharing_engine_reload(e.raw, p, n) })
}

// Close frees the engine. Requests in flight must have finished.
func (e *Engine) Close() {
	C.opensharing_engine_free(e.raw)
	e.raw = nil
}

// LocalStoreRoot is the directory of local store `name`, a relative root resolved against the
// engine's base directory; an *Error with CodeNotFound when there is no such local store.
func (e *Engine) LocalStoreRoot(name string) (string, error) {
	var a arena
	defer a.free()
	p, n := a.str(name)
	var out C.opensharing_bytes
	if err := call(func() C.opensharing_result { return C.opensharing_engine_local_store_root(e.raw, p, n, &out) }); err != nil {
		return "", err
	}
	return take(out), nil
}
