// A Go net/http host for libopensharing through cgo: it drives the engine's exchange loop for
// every request, answers IO needs from local stores on disk, sends the engine's credential calls,
// and serves the engine-signed file URLs with http.ServeContent (HEAD and Range).
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
	"strings"
	"time"
	"unsafe"
)

type host struct {
	engine    *C.opensharing_engine
	configDir string // local store roots are relative to the config file
}

// cstr copies b into C memory (the caller frees it); gostr and take read library strings.
func cstr(b []byte) (*C.uint8_t, C.size_t) {
	if len(b) == 0 {
		return nil, 0
	}
	return (*C.uint8_t)(C.CBytes(b)), C.size_t(len(b))
}
func gostr(s C.opensharing_str) string { return C.GoStringN((*C.char)(unsafe.Pointer(s.ptr)), C.int(s.len)) }
func take(b C.opensharing_bytes) string {
	defer C.opensharing_bytes_free(b)
	return C.GoStringN((*C.char)(unsafe.Pointer(b.ptr)), C.int(b.len))
}

// path is the file of `key` in local store `store`.
func (h *host) path(store, key string) (string, bool) {
	var root C.opensharing_bytes
	p, n := cstr([]byte(store))
	defer C.free(unsafe.Pointer(p))
	if C.opensharing_engine_local_store_root(h.engine, p, n, &root) != C.OPENSHARING_OK {
		return "", false
	}
	dir := take(root)
	if !filepath.IsAbs(dir) {
		dir = filepath.Join(h.configDir, dir)
	}
	path := filepath.Join(dir, filepath.FromSlash(key))
	return path, !escapesRoot(dir, path)
}

// escapesRoot says whether path resolves, through symbolic links, outside root (a path that does
// not exist is left to the caller to report as missing).
func escapesRoot(root, path string) bool {
	realRoot, err1 := filepath.EvalSymlinks(root)
	real, err2 := filepath.EvalSymlinks(path)
	if err1 != nil || err2 != nil {
		return false
	}
	return real != realRoot && !strings.HasPrefix(real, realRoot+string(filepath.Separator))
}

// supply answers the pending IO need: the request body, a listing (recursive: every file below
// the key prefix, sorted by key, cut at max_keys with the key to continue after) or a read.
func (h *host) supply(ex *C.opensharing_exchange, body io.Reader) C.opensharing_result {
	var need C.opensharing_need
	if r := C.opensharing_exchange_need(ex, &need); r != C.OPENSHARING_OK {
		return r
	}
	if need.kind == C.OPENSHARING_NEED_BODY {
		// At most one byte over the limit: the engine answers 413 to a longer body.
		data, err := io.ReadAll(io.LimitReader(body, int64(need.body_limit)+1))
		if err != nil {
			msg := []byte("the request body could not be read")
			p, n := cstr(msg)
			defer C.free(unsafe.Pointer(p))
			return C.opensharing_exchange_supply_error(ex, p, n)
		}
		p, n := cstr(data)
		defer C.free(unsafe.Pointer(p))
		return C.opensharing_exchange_supply_bytes(ex, p, n)
	}
	if need.kind == C.OPENSHARING_NEED_HTTP {
		return h.call(ex)
	}
	key := gostr(need.key)
	if need.kind == C.OPENSHARING_NEED_LIST {
		return h.list(ex, &need, key)
	}
	path, ok := h.path(gostr(need.store), key)
	if !ok {
		return C.opensharing_exchange_supply_not_found(ex)
	}
	if need.kind == C.OPENSHARING_NEED_HEAD { // a lookup: size and time, no bytes
		info, err := os.Stat(path)
		if err != nil || !info.Mode().IsRegular() {
			return C.opensharing_exchange_supply_not_found(ex)
		}
		var m C.opensharing_object_meta
		m.key, m.key_len = cstr([]byte(key))
		defer C.free(unsafe.Pointer(m.key))
		m.size, m.last_modified_unix_ms = C.uint64_t(info.Size()), C.int64_t(info.ModTime().UnixMilli())
		return C.opensharing_exchange_supply_meta(ex, &m)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return C.opensharing_exchange_supply_not_found(ex)
	}
	p, n := cstr(data)
	defer C.free(unsafe.Pointer(p))
	return C.opensharing_exchange_supply_bytes(ex, p, n)
}

// list answers a LIST need for the key prefix `prefix`. It walks the whole subtree, then sorts:
// fine for an example; an appliance answers from its own index in key order. Files that a
// symbolic link leads out of the store's root are left out.
func (h *host) list(ex *C.opensharing_exchange, need *C.opensharing_need, prefix string) C.opensharing_result {
	base := prefix[:strings.LastIndex(prefix, "/")+1]
	dir, ok := h.path(gostr(need.store), base)
	if !ok {
		return C.opensharing_exchange_supply_not_found(ex)
	}
	if info, err := os.Stat(dir); err != nil || !info.IsDir() {
		return C.opensharing_exchange_supply_not_found(ex)
	}
	after := gostr(need.start_after)
	infos := map[string]fs.FileInfo{}
	keys := []string{}
	filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		rel, _ := filepath.Rel(dir, p)
		k := base + filepath.ToSlash(rel)
		if err == nil && !d.IsDir() && strings.HasPrefix(k, prefix) && (!bool(need.has_start_after) || k > after) {
			if _, inside := h.path(gostr(need.store), k); inside {
				infos[k], _ = d.Info()
				keys = append(keys, k)
			}
		}
		return nil
	})
	sort.Strings(keys)
	var next []byte
	if need.has_max_keys && len(keys) > int(need.max_keys) {
		keys = keys[:need.max_keys]
		next = []byte(keys[len(keys)-1])
	}
	metas := make([]C.opensharing_object_meta, len(keys)+1) // +1: &metas[0] must exist
	for i, k := range keys {
		metas[i].key, metas[i].key_len = cstr([]byte(k))
		defer C.free(unsafe.Pointer(metas[i].key))
		metas[i].size, metas[i].last_modified_unix_ms = C.uint64_t(infos[k].Size()), C.int64_t(infos[k].ModTime().UnixMilli())
	}
	nextPtr, nextLen := cstr(next)
	defer C.free(unsafe.Pointer(nextPtr))
	return C.opensharing_exchange_supply_listing_page(ex, &metas[0], C.size_t(len(keys)), nextPtr, nextLen)
}

// call sends a credential-service request (STS, OAuth) the engine built; it carries secrets, so
// nothing of it is logged.
func (h *host) call(ex *C.opensharing_exchange) C.opensharing_result {
	var c C.opensharing_http_call
	C.opensharing_exchange_need_http(ex, &c)
	req, err := http.NewRequest(gostr(c.method), gostr(c.url), strings.NewReader(gostr(c.body)))
	for i := C.size_t(0); err == nil && i < c.header_count; i++ {
		var name, value C.opensharing_str
		C.opensharing_exchange_need_http_header(ex, i, &name, &value)
		req.Header.Set(gostr(name), gostr(value))
	}
	var resp *http.Response
	if err == nil {
		resp, err = (&http.Client{Timeout: 10 * time.Second}).Do(req)
	}
	var body []byte
	if err == nil {
		defer resp.Body.Close()
		body, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	}
	if err != nil {
		msg, n := cstr([]byte(err.Error()))
		defer C.free(unsafe.Pointer(msg))
		return C.opensharing_exchange_supply_error(ex, msg, n)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "" { // how long a JWKS may be cached
		name, nn := cstr([]byte("Cache-Control"))
		value, vn := cstr([]byte(cc))
		defer C.free(unsafe.Pointer(name))
		defer C.free(unsafe.Pointer(value))
		C.opensharing_exchange_supply_http_header(ex, name, nn, value, vn)
	}
	p, n := cstr(body)
	defer C.free(unsafe.Pointer(p))
	return C.opensharing_exchange_supply_http(ex, C.uint16_t(resp.StatusCode), p, n)
}

func (h *host) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/healthz" {
		return
	}
	now := C.int64_t(time.Now().UnixMilli())
	target, n := cstr([]byte(r.URL.RequestURI()))
	defer C.free(unsafe.Pointer(target))
	var store, key C.opensharing_bytes
	switch C.opensharing_engine_verify_file_url(h.engine, target, n, now, &store, &key) {
	case C.OPENSHARING_DENIED:
		http.Error(w, "signature does not match or has expired", http.StatusForbidden)
		return
	case C.OPENSHARING_OK: // a signed local file URL
		path, ok := h.path(take(store), take(key))
		f, err := os.Open(path)
		if !ok || err != nil {
			http.NotFound(w, r)
			return
		}
		defer f.Close()
		info, _ := f.Stat()
		http.ServeContent(w, r, "", info.ModTime(), f)
		return
	}
	// Copy the request into C memory; the engine copies what it keeps.
	var cmem []unsafe.Pointer
	defer func() {
		for _, p := range cmem {
			C.free(p)
		}
	}()
	keep := func(b []byte) (*C.uint8_t, C.size_t) {
		p, n := cstr(b)
		cmem = append(cmem, unsafe.Pointer(p))
		return p, n
	}
	headers := make([]C.opensharing_header, 0, len(r.Header)+1)
	for name := range r.Header {
		var hd C.opensharing_header
		hd.name, hd.name_len = keep([]byte(name))
		hd.value, hd.value_len = keep([]byte(r.Header.Get(name)))
		headers = append(headers, hd)
	}
	hp := (*C.opensharing_header)(C.malloc(C.size_t(len(headers)+1) * C.size_t(unsafe.Sizeof(C.opensharing_header{}))))
	cmem = append(cmem, unsafe.Pointer(hp))
	copy(unsafe.Slice(hp, len(headers)), headers)
	var req C.opensharing_request
	req.method, req.method_len = keep([]byte(r.Method))
	req.target, req.target_len = target, n
	req.headers, req.header_count = hp, C.size_t(len(headers))
	// The body is read only when the engine asks for it, after authentication and routing.
	req.body_pending = C.bool(r.ContentLength != 0)
	req.peer, req.peer_len = keep([]byte(r.RemoteAddr))
	var ex *C.opensharing_exchange
	if C.opensharing_engine_handle(h.engine, &req, now, &ex) != C.OPENSHARING_OK {
		http.Error(w, `{"errorCode":"INTERNAL_ERROR","message":""}`, http.StatusInternalServerError)
		return
	}
	defer C.opensharing_exchange_free(ex)
	buf := make([]byte, 64*1024)
	for {
		var event C.opensharing_event
		if C.opensharing_exchange_poll(ex, &event) != C.OPENSHARING_OK || (event == C.OPENSHARING_EVENT_NEED && h.supply(ex, r.Body) != C.OPENSHARING_OK) {
			return
		}
		switch event {
		case C.OPENSHARING_EVENT_HEAD:
			var status C.uint16_t
			var count C.size_t
			C.opensharing_exchange_status(ex, &status)
			C.opensharing_exchange_header_count(ex, &count)
			for i := C.size_t(0); i < count; i++ {
				var name, value C.opensharing_str
				C.opensharing_exchange_header(ex, i, &name, &value)
				w.Header().Set(gostr(name), gostr(value))
			}
			w.WriteHeader(int(status))
		case C.OPENSHARING_EVENT_BODY:
			for n := C.size_t(1); n > 0; w.Write(buf[:n]) {
				C.opensharing_exchange_read(ex, (*C.uint8_t)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)), &n)
			}
		case C.OPENSHARING_EVENT_DONE:
			var audit C.opensharing_str
			C.opensharing_exchange_audit_json(ex, &audit)
			log.Printf("%s %s", r.Method, gostr(audit))
			return
		}
	}
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
	p, n := cstr(json)
	defer C.free(unsafe.Pointer(p))
	if r := C.opensharing_engine_new(p, n, &h.engine); r != C.OPENSHARING_OK {
		log.Fatalf("opensharing_engine_new: %s", C.GoString(C.opensharing_result_message(C.uint32_t(r))))
	}
	log.Printf("serving %s on http://%s", *config, *listen)
	// One budget for the request with its body, as `opensharing serve` has; idle connections close.
	server := &http.Server{Addr: *listen, Handler: h, ReadHeaderTimeout: 30 * time.Second,
		ReadTimeout: 30 * time.Second, IdleTimeout: 60 * time.Second}
	log.Fatal(server.ListenAndServe())
}
