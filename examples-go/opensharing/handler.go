package opensharing

/*
#include <stdlib.h>
#include "opensharing.h"
*/
import "C"

import (
	"encoding/json"
	"errors"
	"io"
	"log"
	"net/http"
	"strings"
	"time"
	"unsafe"
)

// Handler serves the engine's endpoints: it drives the exchange loop for each request, answers
// the IO needs from Storage, sends the engine's HTTP calls (credential services, OpenID key
// sets) with HTTPClient, and sends the bytes of signed local-store file URLs from Storage (the
// engine checks them and answers their head, Range and errors).
type Handler struct {
	Engine  *Engine
	Storage Storage
	// HTTPClient sends the engine's HTTP calls; nil means a client with a 10 s timeout.
	HTTPClient *http.Client
	// Audit receives one JSON audit event per request; nil logs it with the log package.
	Audit func(method, event string)
}

func (h *Handler) audit(method, event string) {
	if h.Audit != nil {
		h.Audit(method, event)
		return
	}
	log.Printf("%s %s", method, event)
}

// writeError answers a JSON error as the engine does.
func writeError(w http.ResponseWriter, status int, code, message string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]string{"errorCode": code, "message": message})
}

// ServeHTTP implements http.Handler: it drives one request through the engine.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	now, target := time.Now().UnixMilli(), r.URL.RequestURI()
	var a arena
	defer a.free()
	headers := make([]C.opensharing_header, 0, len(r.Header)+1)
	for name := range r.Header {
		var hd C.opensharing_header
		hd.name, hd.name_len = a.str(name)
		hd.value, hd.value_len = a.str(r.Header.Get(name))
		headers = append(headers, hd)
	}
	hp := (*C.opensharing_header)(C.malloc(C.size_t(len(headers)+1) * C.size_t(unsafe.Sizeof(C.opensharing_header{}))))
	a = append(a, unsafe.Pointer(hp))
	copy(unsafe.Slice(hp, len(headers)), headers)
	var req C.opensharing_request
	req.method, req.method_len = a.str(r.Method)
	req.target, req.target_len = a.str(target)
	req.headers, req.header_count = hp, C.size_t(len(headers))
	// The body is read only when the engine asks for it, after authentication and routing.
	req.body_pending = C.bool(r.ContentLength != 0)
	req.peer, req.peer_len = a.str(r.RemoteAddr)
	var ex *C.opensharing_exchange
	if err := call(func() C.opensharing_result {
		return C.opensharing_engine_handle(h.Engine.raw, &req, C.int64_t(now), &ex)
	}); err != nil {
		writeError(w, http.StatusInternalServerError, "INTERNAL_ERROR", "")
		return
	}
	defer C.opensharing_exchange_free(ex)
	buf := make([]byte, 64*1024)
	for {
		var event C.opensharing_event
		if C.opensharing_exchange_poll(ex, &event) != C.OPENSHARING_OK {
			return
		}
		switch event {
		case C.OPENSHARING_EVENT_NEED:
			if h.supply(ex, r.Body) != C.OPENSHARING_OK {
				return
			}
		case C.OPENSHARING_EVENT_WAIT:
			return // never: each need is answered before the next poll
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
			for n := C.size_t(1); n > 0; {
				if C.opensharing_exchange_read(ex, (*C.uint8_t)(unsafe.Pointer(&buf[0])), C.size_t(len(buf)), &n) != C.OPENSHARING_OK {
					return
				}
				if _, err := w.Write(buf[:n]); err != nil {
					return
				}
			}
		case C.OPENSHARING_EVENT_SERVE_FILE:
			// The head is sent: a failure now can only cut the body short.
			if err := h.sendFile(w, ex); err != nil {
				log.Printf("%s %s: the file could not be sent: %v", r.Method, r.URL.Path, err)
			}
		case C.OPENSHARING_EVENT_DONE:
			var audit C.opensharing_str
			C.opensharing_exchange_audit_json(ex, &audit)
			h.audit(r.Method, gostr(audit))
			return
		}
	}
}

// sendFile copies the bytes of the local-store file the engine granted from Storage (with
// sendfile when Storage opens an *os.File).
func (h *Handler) sendFile(w io.Writer, ex *C.opensharing_exchange) error {
	var file C.opensharing_file
	if C.opensharing_exchange_file(ex, &file) != C.OPENSHARING_OK {
		return errors.New("no file to send")
	}
	f, err := h.Storage.Open(gostr(file.store), gostr(file.key))
	if err != nil {
		return err
	}
	defer f.Close()
	if _, err := f.Seek(int64(file.range_start), io.SeekStart); err != nil {
		return err
	}
	_, err = io.CopyN(w, f, int64(file.range_end-file.range_start))
	return err
}

// supply answers the IO need the last poll handed out, by its id, before the next poll.
func (h *Handler) supply(ex *C.opensharing_exchange, body io.Reader) C.opensharing_result {
	var need C.opensharing_need
	if r := C.opensharing_exchange_need(ex, &need); r != C.OPENSHARING_OK {
		return r
	}
	var a arena
	defer a.free()
	fail := func(err error) C.opensharing_result {
		if errors.Is(err, ErrNotFound) {
			return C.opensharing_exchange_supply_not_found(ex, need.id)
		}
		p, n := a.str(err.Error())
		return C.opensharing_exchange_supply_error(ex, need.id, p, n)
	}
	store, key := gostr(need.store), gostr(need.key)
	switch need.kind {
	case C.OPENSHARING_NEED_BODY:
		// At most one byte over the limit: the engine answers 413 to a longer body.
		data, err := io.ReadAll(io.LimitReader(body, int64(need.body_limit)+1))
		if err != nil {
			return fail(errors.New("the request body could not be read"))
		}
		p, n := a.bytes(data)
		return C.opensharing_exchange_supply_bytes(ex, need.id, p, n)
	case C.OPENSHARING_NEED_HTTP:
		return h.send(ex, need.id, &a)
	case C.OPENSHARING_NEED_LIST:
		maxKeys := 0
		if need.has_max_keys {
			maxKeys = int(need.max_keys)
		}
		objects, more, err := h.Storage.List(store, key, gostr(need.start_after), maxKeys)
		if err != nil {
			return fail(err)
		}
		metas := make([]C.opensharing_object_meta, len(objects)+1) // +1: &metas[0] must exist
		for i, o := range objects {
			metas[i].key, metas[i].key_len = a.str(o.Key)
			metas[i].size, metas[i].last_modified_unix_ms = C.uint64_t(o.Size), C.int64_t(o.Modified.UnixMilli())
		}
		var next *C.uint8_t
		var nextLen C.size_t
		if more {
			next, nextLen = a.str(objects[len(objects)-1].Key)
		}
		return C.opensharing_exchange_supply_listing_page(ex, need.id, &metas[0], C.size_t(len(objects)), next, nextLen)
	case C.OPENSHARING_NEED_HEAD:
		o, err := h.Storage.Stat(store, key)
		if err != nil {
			return fail(err)
		}
		var m C.opensharing_object_meta
		m.key, m.key_len = a.str(key)
		m.size, m.last_modified_unix_ms = C.uint64_t(o.Size), C.int64_t(o.Modified.UnixMilli())
		return C.opensharing_exchange_supply_meta(ex, need.id, &m)
	}
	start, end := int64(0), int64(-1)
	if need.has_range {
		start, end = int64(need.range_start), int64(need.range_end)
	}
	data, err := h.Storage.Read(store, key, start, end)
	if err != nil {
		return fail(err)
	}
	p, n := a.bytes(data)
	return C.opensharing_exchange_supply_bytes(ex, need.id, p, n)
}

// send makes the engine's HTTP call (STS, OAuth, an OpenID key set); it carries secrets, so
// nothing of it is logged.
func (h *Handler) send(ex *C.opensharing_exchange, id C.opensharing_need_id, a *arena) C.opensharing_result {
	var c C.opensharing_http_call
	if r := C.opensharing_exchange_need_http(ex, id, &c); r != C.OPENSHARING_OK {
		return r
	}
	req, err := http.NewRequest(gostr(c.method), gostr(c.url), strings.NewReader(gostr(c.body)))
	for i := C.size_t(0); err == nil && i < c.header_count; i++ {
		var name, value C.opensharing_str
		C.opensharing_exchange_need_http_header(ex, id, i, &name, &value)
		req.Header.Set(gostr(name), gostr(value))
	}
	client := h.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	var resp *http.Response
	if err == nil {
		resp, err = client.Do(req)
	}
	var body []byte
	if err == nil {
		defer resp.Body.Close()
		body, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	}
	if err != nil {
		p, n := a.str(err.Error())
		return C.opensharing_exchange_supply_error(ex, id, p, n)
	}
	if cc := resp.Header.Get("Cache-Control"); cc != "" { // how long a key set may be cached
		name, nn := a.str("Cache-Control")
		value, vn := a.str(cc)
		C.opensharing_exchange_supply_http_header(ex, id, name, nn, value, vn)
	}
	p, n := a.bytes(body)
	return C.opensharing_exchange_supply_http(ex, id, C.uint16_t(resp.StatusCode), p, n)
}
