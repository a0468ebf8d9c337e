// A Go net/http host for libopensharing: the opensharing package (./opensharing) does the work;
// this file only wires flags, the engine, local disk storage and the HTTP server.
//
//	go build -o opensharing-go . && ./opensharing-go -config ../demo/opensharing.json -listen 127.0.0.1:8081
package main

import (
	"flag"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"opensharing.example/gohost/opensharing"
)

func main() {
	config := flag.String("config", "../demo/opensharing.json", "configuration file")
	listen := flag.String("listen", "127.0.0.1:8081", "address to listen on")
	flag.Parse()
	json, err := os.ReadFile(*config)
	if err != nil {
		log.Fatal(err)
	}
	// Relative store roots are relative to the configuration file.
	engine, err := opensharing.NewEngine(json, filepath.Dir(*config))
	if err != nil {
		log.Fatal(err)
	}
	defer engine.Close()
	handler := &opensharing.Handler{Engine: engine, Storage: &opensharing.LocalDisk{Engine: engine}}
	// No ServeMux: it would clean (redirect) request paths that the engine must see as sent.
	routes := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/healthz" {
			handler.ServeHTTP(w, r)
		}
	})
	log.Printf("serving %s on http://%s", *config, *listen)
	// One budget for the request with its body, as `opensharing serve` has; idle connections close.
	server := &http.Server{Addr: *listen, Handler: routes, ReadHeaderTimeout: 30 * time.Second,
		ReadTimeout: 30 * time.Second, IdleTimeout: 60 * time.Second}
	log.Fatal(server.ListenAndServe())
}
