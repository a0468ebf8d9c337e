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

// maxInFlight is how many IO needs of one request are performed at once.
const maxInFlight = 8

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
	// Needs are performed concurrently; their answers come back here, to the one goroutine
	// that uses the exchange. Answers still out when the exchange ends are awaited and dropped.
	answers, inFlight := make(chan answer, maxInFlight), 0
	defer func() {
		for ; inFlight > 0; inFlight-- {
			<-answers
		}
	}()
	supplyOne := func() bool {
		inFlight--
		return (<-answers)(ex) == C.OPENSHARING_OK
	}
	buf := make([]byte, 64*1024)
	for {
		var event C.opensharing_event
		if C.opensharing_exchange_poll(ex, &event) != C.OPENSHARING_OK {
			return
		}
		switch event {
		case C.OPENSHARING_EVENT_NEED:
			// Performed on its own goroutine; at most maxInFlight at once.
			n, err := describe(ex)
			if err != nil || (inFlight == maxInFlight && !supplyOne()) {
				return
			}
			inFlight++
			go func() { answers <- h.perform(n, r.Body) }()
		case C.OPENSHARING_EVENT_WAIT:
			if !supplyOne() {
				return
			}
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

// need is an IO need copied out of the exchange, so that another goroutine can perform it.
type need struct {
	id                    C.opensharing_need_id
	kind                  C.opensharing_need_kind
	store, key, after     string
	maxKeys               int // 0: the whole listing
	start, end, bodyLimit int64
	call                  *http.Request // for OPENSHARING_NEED_HTTP
	callErr               error         // why call could not be built
}

// answer supplies the result of a performed need; only the goroutine driving the exchange
// calls it.
type answer func(ex *C.opensharing_exchange) C.opensharing_result

// describe copies the need the last poll handed out.
func describe(ex *C.opensharing_exchange) (need, error) {
	var c C.opensharing_need
	if C.opensharing_exchange_need(ex, &c) != C.OPENSHARING_OK {
		return need{}, errors.New("no need was handed out")
	}
	n := need{id: c.id, kind: c.kind, store: gostr(c.store), key: gostr(c.key), after: gostr(c.start_after),
		end: -1, bodyLimit: int64(c.body_limit)}
	if c.has_max_keys {
		n.maxKeys = int(c.max_keys)
	}
	if c.has_range {
		n.start, n.end = int64(c.range_start), int64(c.range_end)
	}
	if c.kind != C.OPENSHARING_NEED_HTTP {
		return n, nil
	}
	var call C.opensharing_http_call
	if C.opensharing_exchange_need_http(ex, c.id, &call) != C.OPENSHARING_OK {
		return need{}, errors.New("no HTTP call")
	}
	req, err := http.NewRequest(gostr(call.method), gostr(call.url), strings.NewReader(gostr(call.body)))
	for i := C.size_t(0); err == nil && i < call.header_count; i++ {
		var name, value C.opensharing_str
		C.opensharing_exchange_need_http_header(ex, c.id, i, &name, &value)
		req.Header.Set(gostr(name), gostr(value))
	}
	n.call, n.callErr = req, err
	return n, nil
}

// perform does the IO of n (on any goroutine) and returns how to answer it.
func (h *Handler) perform(n need, body io.Reader) answer {
	fail := func(err error) answer {
		return func(ex *C.opensharing_exchange) C.opensharing_result {
			if errors.Is(err, ErrNotFound) {
				return C.opensharing_exchange_supply_not_found(ex, n.id)
			}
			var a arena
			defer a.free()
			p, l := a.str(err.Error())
			return C.opensharing_exchange_supply_error(ex, n.id, p, l)
		}
	}
	bytes := func(data []byte) answer {
		return func(ex *C.opensharing_exchange) C.opensharing_result {
			var a arena
			defer a.free()
			p, l := a.bytes(data)
			return C.opensharing_exchange_supply_bytes(ex, n.id, p, l)
		}
	}
	switch n.kind {
	case C.OPENSHARING_NEED_BODY:
		// At most one byte over the limit: the engine answers 413 to a longer body.
		data, err := io.ReadAll(io.LimitReader(body, n.bodyLimit+1))
		if err != nil {
			return fail(errors.New("the request body could not be read"))
		}
		return bytes(data)
	case C.OPENSHARING_NEED_HTTP:
		if n.callErr != nil {
			return fail(n.callErr)
		}
		return h.send(n)
	case C.OPENSHARING_NEED_LIST:
		objects, more, err := h.Storage.List(n.store, n.key, n.after, n.maxKeys)
		if err != nil {
			return fail(err)
		}
		return func(ex *C.opensharing_exchange) C.opensharing_result {
			var a arena
			defer a.free()
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
			return C.opensharing_exchange_supply_listing_page(ex, n.id, &metas[0], C.size_t(len(objects)), next, nextLen)
		}
	case C.OPENSHARING_NEED_HEAD:
		o, err := h.Storage.Stat(n.store, n.key)
		if err != nil {
			return fail(err)
		}
		return func(ex *C.opensharing_exchange) C.opensharing_result {
			var a arena
			defer a.free()
			var m C.opensharing_object_meta
			m.key, m.key_len = a.str(n.key)
			m.size, m.last_modified_unix_ms = C.uint64_t(o.Size), C.int64_t(o.Modified.UnixMilli())
			return C.opensharing_exchange_supply_meta(ex, n.id, &m)
		}
	}
	data, err := h.Storage.Read(n.store, n.key, n.start, n.end)
	if err != nil {
		return fail(err)
	}
	return bytes(data)
}

// send makes the engine's HTTP call (STS, OAuth, an OpenID key set); it carries secrets, so
// nothing of it is logged.
func (h *Handler) send(n need) answer {
	client := h.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: 10 * time.Second}
	}
	resp, err := client.Do(n.call)
	var body []byte
	if err == nil {
		defer resp.Body.Close()
		body, err = io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	}
	return func(ex *C.opensharing_exchange) C.opensharing_result {
		var a arena
		defer a.free()
		if err != nil {
			p, l := a.str(err.Error())
			return C.opensharing_exchange_supply_error(ex, n.id, p, l)
		}
		if cc := resp.Header.Get("Cache-Control"); cc != "" { // how long a key set may be cached
			name, nn := a.str("Cache-Control")
			value, vn := a.str(cc)
			C.opensharing_exchange_supply_http_header(ex, n.id, name, nn, value, vn)
		}
		p, l := a.bytes(body)
		return C.opensharing_exchange_supply_http(ex, n.id, C.uint16_t(resp.StatusCode), p, l)
	}
}
