// A Go net/http host for libopensharing, through cgo and the static library.
//
// It drives the engine's exchange loop for every request and answers the engine's IO needs
// from the local disk (`local` store roots are relative to the config file).
//
//	go build -o opensharing-go . && ./opensharing-go -config ../demo/opensharing.json -listen 127.0.0.1:8081
package main

/*
#cgo CFLAGS: -I${SRCDIR}/../include
#cgo LDFLAGS: ${SRCDIR}/../target/release/libopensharing.a -lpthread -ldl -lm
#include <stdlib.h>
#include "opensharing.h"
*/
import "C"

import (
	"flag"
	"io"
	"io/fs"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"time"
	"unsafe"
)

type host struct {
	engine    *C.os_engine
	configDir string // local store roots are relative to the config file
}

func takeBytes(b C.os_bytes) string {
	defer C.os_bytes_free(b)
	return C.GoStringN((*C.char)(unsafe.Pointer(b.ptr)), C.int(b.len))
}

// storePath is the file of `key` in local store `store`.
func (h *host) storePath(store, key string) (string, bool) {
	var root C.os_bytes
	p, n := cbytes([]byte(store))
	defer C.free(unsafe.Pointer(p))
	if C.os_engine_local_store_root(h.engine, p, n, &root) != C.OS_OK {
		return "", false
	}
	dir := takeBytes(root)
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(h.configDir, dir)
	}
	return filepath.Join(dir, filepath.FromSlash(key)), true
}

// serveFile answers a local-store file URL the engine has signed: http.ServeContent handles
// HEAD and Range (206).
func (h *host) serveFile(w http.ResponseWriter, r *http.Request) bool {
	target := []byte(r.URL.RequestURI())
	p, n := cbytes(target)
	defer C.free(unsafe.Pointer(p))
	var store, key C.os_bytes
	switch C.os_engine_verify_file_url(h.engine, p, n, C.int64_t(time.Now().UnixMilli()), &store, &key) {
	case C.OS_DENIED:
		http.Error(w, "signature does not match or has expired", http.StatusForbidden)
		return true
	case C.OS_OK:
		path, ok := h.storePath(takeBytes(store), takeBytes(key))
		f, err := os.Open(path)
		if !ok || err != nil {
			http.NotFound(w, r)
			return true
		}
		defer f.Close()
		info, _ := f.Stat()
		http.ServeContent(w, r, "", info.ModTime(), f)
		return true
	}
	return false
}

func cbytes(s []byte) (*C.uint8_t, C.size_t) {
	if len(s) == 0 {
		return nil, 0
	}
	return (*C.uint8_t)(C.CBytes(s)), C.size_t(len(s))
}

func gostr(s C.os_str) string { return C.GoStringN((*C.char)(unsafe.Pointer(s.ptr)), C.int(s.len)) }

func check(r C.os_result, what string) bool {
	if r != C.OS_OK {
		log.Printf("%s: %s", what, C.GoString(C.os_result_message(r)))
		return false
	}
	return true
}

// newExchange copies the request into C memory (the engine copies what it keeps).
func (h *host) newExchange(r *http.Request, body []byte) *C.os_exchange {
	var allocs []unsafe.Pointer
	defer func() {
		for _, p := range allocs {
			C.free(p)
		}
	}()
	keep := func(b []byte) (*C.uint8_t, C.size_t) {
		p, n := cbytes(b)
		allocs = append(allocs, unsafe.Pointer(p))
		return p, n
	}
	var names []string
	for name := range r.Header {
		names = append(names, name)
	}
	headers := (*[1 << 16]C.os_header)(C.malloc(C.size_t(len(names)+1) * C.size_t(unsafe.Sizeof(C.os_header{}))))
	allocs = append(allocs, unsafe.Pointer(headers))
	for i, name := range names {
		headers[i].name, headers[i].name_len = keep([]byte(name))
		headers[i].value, headers[i].value_len = keep([]byte(r.Header.Get(name)))
	}
	var req C.os_request
	req.method, req.method_len = keep([]byte(r.Method))
	req.target, req.target_len = keep([]byte(r.URL.RequestURI()))
	req.headers, req.header_count = &headers[0], C.size_t(len(names))
	req.body, req.body_len = keep(body)
	var ex *C.os_exchange
	if !check(C.os_engine_handle(h.engine, &req, C.int64_t(time.Now().UnixMilli()), &ex), "handle") {
		return nil
	}
	return ex
}

// supply answers the pending IO need from disk.
func (h *host) supply(ex *C.os_exchange) C.os_result {
	var need C.os_need
	if r := C.os_exchange_need(ex, &need); r != C.OS_OK {
		return r
	}
	key := gostr(need.key)
	path, ok := h.storePath(gostr(need.store), key)
	if !ok {
		return C.os_exchange_supply_not_found(ex)
	}
	if need.kind == C.OS_NEED_LIST {
		return h.list(ex, path, key, gostr(need.start_after))
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return C.os_exchange_supply_not_found(ex)
	}
	if need.has_range && int(need.range_end) <= len(data) {
		data = data[need.range_start:need.range_end]
	}
	p, n := cbytes(data)
	defer C.free(unsafe.Pointer(p))
	return C.os_exchange_supply_bytes(ex, p, n)
}

// list answers a LIST need with the files under `dir` (the prefix's directory), keyed
// `prefix` + their relative path, sorted.
func (h *host) list(ex *C.os_exchange, dir, prefix, startAfter string) C.os_result {
	type entry struct {
		key  string
		info fs.FileInfo
	}
	var entries []entry
	filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			info, _ := d.Info()
			rel, _ := filepath.Rel(dir, path)
			if key := prefix + filepath.ToSlash(rel); key > startAfter && info != nil {
				entries = append(entries, entry{key, info})
			}
		}
		return nil
	})
	if len(entries) == 0 {
		if _, err := os.Stat(dir); err != nil {
			return C.os_exchange_supply_not_found(ex)
		}
	}
	sort.Slice(entries, func(i, j int) bool { return entries[i].key < entries[j].key })
	metas := make([]C.os_object_meta, len(entries)+1)
	for i, e := range entries {
		metas[i].key, metas[i].key_len = cbytes([]byte(e.key))
		metas[i].size = C.uint64_t(e.info.Size())
		metas[i].last_modified_unix_ms = C.int64_t(e.info.ModTime().UnixMilli())
		defer C.free(unsafe.Pointer(metas[i].key))
	}
	return C.os_exchange_supply_listing(ex, &metas[0], C.size_t(len(entries)))
}

func (h *host) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/healthz" {
		w.WriteHeader(http.StatusOK)
		return
	}
	if h.serveFile(w, r) {
		return
	}
	body, err := readBody(r)
	if err != nil {
		http.Error(w, `{"errorCode":"MALFORMED_REQUEST","message":"request body too large"}`, http.StatusRequestEntityTooLarge)
		return
	}
	ex := h.newExchange(r, body)
	if ex == nil {
		http.Error(w, `{"errorCode":"INTERNAL_ERROR","message":""}`, http.StatusInternalServerError)
		return
	}
	defer C.os_exchange_free(ex)
	buf := make([]byte, 64*1024)
	for {
		var event C.os_event
		if !check(C.os_exchange_poll(ex, &event), "poll") {
			return
		}
		switch event {
		case C.OS_EVENT_NEED:
			if !check(h.supply(ex), "supply") {
				return
			}
		case C.OS_EVENT_HEAD:
			var status C.uint16_t
			var count C.size_t
			C.os_exchange_status(ex, &status)
			C.os_exchange_header_count(ex, &count)
			for i := C.size_t(0); i < count; i++ {
				var name, value C.os_str
				C.os_exchange_header(ex, i, &name, &value)
				w.Header().Set(gostr(name), gostr(value))
			}
			w.WriteHeader(int(status))
		case C.OS_EVENT_BODY:
			for {
				var n C.size_t
				C.os_exchange_read(ex, (*C.uint8_t)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)), &n)
				if n == 0 {
					break
				}
				w.Write(buf[:n])
			}
		default:
			var audit C.os_str
			C.os_exchange_audit_json(ex, &audit)
			log.Printf("%s %s", r.Method, gostr(audit))
			return
		}
	}
}

func readBody(r *http.Request) ([]byte, error) {
	return io.ReadAll(http.MaxBytesReader(nil, r.Body, 1<<20))
}

func main() {
	config := flag.String("config", "../demo/opensharing.json", "configuration file")
	listen := flag.String("listen", "127.0.0.1:8081", "address to listen on")
	flag.Parse()
	json, err := os.ReadFile(*config)
	if err != nil {
		log.Fatal(err)
	}
	h := &host{configDir: filepath.Dir(*config)}
	p, n := cbytes(json)
	r := C.os_engine_new(p, n, &h.engine)
	C.free(unsafe.Pointer(p))
	if !check(r, "os_engine_new") {
		os.Exit(1)
	}
	log.Printf("serving %s on http://%s", *config, *listen)
	log.Fatal(http.ListenAndServe(*listen, h))
}
