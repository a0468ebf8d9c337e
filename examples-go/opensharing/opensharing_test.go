package opensharing

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
)

const demoToken = "opensharing-demo-token"

// demo serves the bundled demo catalog through a Handler on a test server.
func demo(t *testing.T) (*httptest.Server, *Engine, func() []string) {
	t.Helper()
	config := filepath.Join("..", "..", "demo", "opensharing.json")
	data, err := os.ReadFile(config)
	if err != nil {
		t.Fatal(err)
	}
	engine, err := NewEngine(data, filepath.Dir(config))
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var events []string
	handler := &Handler{Engine: engine, Storage: &LocalDisk{Engine: engine},
		Audit: func(_, event string) { mu.Lock(); events = append(events, event); mu.Unlock() }}
	server := httptest.NewServer(handler)
	t.Cleanup(func() { server.Close(); engine.Close() })
	return server, engine, func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), events...) }
}

func do(t *testing.T, method, url, token, body string, headers map[string]string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, data
}

func TestDiscoveryAndRefusedTokens(t *testing.T) {
	server, _, events := demo(t)
	resp, body := do(t, "GET", server.URL+"/delta-sharing/shares", demoToken, "", nil)
	if resp.StatusCode != 200 || !strings.Contains(string(body), `"name":"demo"`) {
		t.Fatalf("discovery: %d %s", resp.StatusCode, body)
	}
	resp, body = do(t, "GET", server.URL+"/delta-sharing/shares", "not-the-token", "", nil)
	var refusal struct{ ErrorCode string }
	if resp.StatusCode != 401 || json.Unmarshal(body, &refusal) != nil || refusal.ErrorCode != "UNAUTHENTICATED" {
		t.Fatalf("a bad token: %d %s", resp.StatusCode, body)
	}
	all := events()
	if len(all) != 2 {
		t.Fatalf("one audit event per request, got %v", all)
	}
	for _, e := range all {
		if strings.Contains(e, demoToken) || strings.Contains(e, "not-the-token") {
			t.Fatalf("a token in the audit event: %s", e)
		}
	}
}

// TestQueryThenFileURL reads the demo table's first file through its signed URL: whole, a
// Range, HEAD, and with a tampered signature; the engine answers each (JSON errors, an audit
// event), the Handler sends the bytes.
func TestQueryThenFileURL(t *testing.T) {
	server, _, events := demo(t)
	resp, body := do(t, "POST", server.URL+"/delta-sharing/shares/demo/schemas/default/tables/trips/query",
		demoToken, "{}", map[string]string{"Content-Type": "application/json"})
	if resp.StatusCode != 200 {
		t.Fatalf("query: %d %s", resp.StatusCode, body)
	}
	var file struct {
		URL  string
		Size int64
	}
	for scanner := bufio.NewScanner(strings.NewReader(string(body))); scanner.Scan(); {
		var line struct {
			File *struct {
				URL  string
				Size int64
			}
		}
		if json.Unmarshal(scanner.Bytes(), &line) == nil && line.File != nil {
			file = *line.File
			break
		}
	}
	if file.URL == "" {
		t.Fatalf("no file in %s", body)
	}
	// The URL names the configured endpoint; ask this server for the same path and query.
	url := server.URL + "/" + strings.SplitN(strings.SplitN(file.URL, "://", 2)[1], "/", 2)[1]
	resp, whole := do(t, "GET", url, "", "", nil)
	if resp.StatusCode != 200 || int64(len(whole)) != file.Size {
		t.Fatalf("file GET: %d, %d bytes of %d", resp.StatusCode, len(whole), file.Size)
	}
	resp, part := do(t, "GET", url, "", "", map[string]string{"Range": "bytes=4-11"})
	if resp.StatusCode != 206 || string(part) != string(whole[4:12]) {
		t.Fatalf("Range: %d %q", resp.StatusCode, part)
	}
	resp, empty := do(t, "HEAD", url, "", "", nil)
	if resp.StatusCode != 200 || resp.ContentLength != file.Size || len(empty) != 0 {
		t.Fatalf("HEAD: %d, length %d", resp.StatusCode, resp.ContentLength)
	}
	resp, body = do(t, "GET", url, "", "", map[string]string{"Range": fmt.Sprintf("bytes=%d-", file.Size)})
	if resp.StatusCode != 416 || resp.Header.Get("Content-Range") != fmt.Sprintf("bytes */%d", file.Size) ||
		!strings.Contains(string(body), "INVALID_PARAMETER_VALUE") {
		t.Fatalf("unsatisfiable Range: %d %s", resp.StatusCode, body)
	}
	resp, body = do(t, "GET", strings.Replace(url, "X-Amz-Signature=", "X-Amz-Signature=0", 1), "", "", nil)
	if resp.StatusCode != 403 || resp.Header.Get("Content-Type") != "application/json; charset=utf-8" ||
		!strings.Contains(string(body), "PERMISSION_DENIED") {
		t.Fatalf("tampered signature: %d %s", resp.StatusCode, body)
	}
	files := 0
	for _, e := range events() {
		var event struct {
			Route     string
			Status    int
			BodyBytes int64 `json:"body_bytes"`
		}
		json.Unmarshal([]byte(e), &event)
		if event.Route == "file" {
			files++
			if event.Status == 200 && event.BodyBytes != file.Size && event.BodyBytes != 0 {
				t.Fatalf("a whole file or a HEAD: %s", e)
			}
		}
	}
	if files != 5 {
		t.Fatalf("one audit event per file request, got %d in %v", files, events())
	}
}

func TestConfigErrorsCarryTheirCode(t *testing.T) {
	_, err := NewEngine([]byte("{not json"), "")
	var e *Error
	if !errors.As(err, &e) || e.Code != CodeInvalidConfig || !strings.Contains(e.Detail, "JSON") {
		t.Fatalf("bad JSON: %v", err)
	}
	server, engine, _ := demo(t)
	if err := engine.Reload([]byte(`{"shares": 3}`)); !errors.As(err, &e) || e.Code != CodeInvalidConfig {
		t.Fatalf("a bad reload: %v", err)
	}
	if resp, _ := do(t, "GET", server.URL+"/delta-sharing/shares", demoToken, "", nil); resp.StatusCode != 200 {
		t.Fatalf("a refused reload must keep the configuration: %d", resp.StatusCode)
	}
	if _, err := engine.LocalStoreRoot("no-such-store"); !errors.As(err, &e) || e.Code != CodeNotFound {
		t.Fatalf("an unknown store: %v", err)
	}
}

// TestRelativeRootsAreTheEngines: the engine resolves a relative store root against the base
// directory it was given, so a Storage uses the root as it gets it.
func TestRelativeRootsAreTheEngines(t *testing.T) {
	config := []byte(`{"stores": {"disk": {"kind": "local", "root": "data"}}, "shares": [], "recipients": []}`)
	for baseDir, want := range map[string]string{"/srv/conf": "/srv/conf/data", "": "data"} {
		engine, err := NewEngine(config, baseDir)
		if err != nil {
			t.Fatal(err)
		}
		if root, err := engine.LocalStoreRoot("disk"); err != nil || root != want {
			t.Fatalf("base %q: %q %v", baseDir, root, err)
		}
		engine.Close()
	}
}

// TestLocalDisk checks the listing contract every host shares: recursive, sorted, after a
// key, paged; and that a symbolic link out of the root is not served.
func TestLocalDisk(t *testing.T) {
	root, outside := t.TempDir(), t.TempDir()
	for _, f := range []string{"v/b.txt", "v/a/deep/c.txt", "v/a/x.txt", "w/y.txt"} {
		os.MkdirAll(filepath.Dir(filepath.Join(root, f)), 0o755)
		os.WriteFile(filepath.Join(root, f), []byte("data of "+f), 0o644)
	}
	os.WriteFile(filepath.Join(outside, "secret"), []byte("secret"), 0o644)
	if err := os.Symlink(filepath.Join(outside, "secret"), filepath.Join(root, "v", "link")); err != nil {
		t.Fatal(err)
	}
	config, _ := json.Marshal(map[string]any{
		"endpoint": "http://127.0.0.1:1/delta-sharing", "token_signing_key": strings.Repeat("k", 32),
		"stores": map[string]any{"disk": map[string]any{"kind": "local", "root": root}}, "shares": []any{}, "recipients": []any{},
	})
	engine, err := NewEngine(config, "")
	if err != nil {
		t.Fatal(err)
	}
	defer engine.Close()
	disk := &LocalDisk{Engine: engine}
	keys := func(objects []Object) string {
		var out []string
		for _, o := range objects {
			out = append(out, o.Key)
		}
		return strings.Join(out, " ")
	}
	all, more, err := disk.List("disk", "v/", "", 0)
	if err != nil || more || keys(all) != "v/a/deep/c.txt v/a/x.txt v/b.txt" {
		t.Fatalf("recursive listing: %q %v %v", keys(all), more, err)
	}
	page, more, _ := disk.List("disk", "v/", "v/a/deep/c.txt", 1)
	if !more || keys(page) != "v/a/x.txt" {
		t.Fatalf("a page after a key: %q %v", keys(page), more)
	}
	if part, err := disk.Read("disk", "v/b.txt", 2, 6); err != nil || string(part) != "ta o" {
		t.Fatalf("a range: %q %v", part, err)
	}
	for _, key := range []string{"v/link", "v/missing", "../outside"} {
		if _, err := disk.Stat("disk", key); !errors.Is(err, ErrNotFound) {
			t.Fatalf("%s must not be served: %v", key, err)
		}
	}
	if _, _, err := disk.List("nope", "", "", 0); !errors.Is(err, ErrNotFound) {
		t.Fatalf("an unknown store: %v", err)
	}
}
