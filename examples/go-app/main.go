// A tiny key-value HTTP service (standard library only).
package main

import (
	"encoding/json"
	"log"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"time"
)

type store struct {
	mu   sync.RWMutex
	data map[string]string
}

func (s *store) handleRoot(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	s.mu.RLock()
	n := len(s.data)
	s.mu.RUnlock()
	writeJSON(w, http.StatusOK, map[string]any{"message": "hello from go-app", "keys": n})
}

// /kv/<key>: GET reads, PUT writes the request body, DELETE removes; /kv/ lists keys.
func (s *store) handleKV(w http.ResponseWriter, r *http.Request) {
	key := strings.TrimPrefix(r.URL.Path, "/kv/")
	if key == "" {
		s.mu.RLock()
		keys := make([]string, 0, len(s.data))
		for k := range s.data {
			keys = append(keys, k)
		}
		s.mu.RUnlock()
		sort.Strings(keys)
		writeJSON(w, http.StatusOK, keys)
		return
	}
	switch r.Method {
	case http.MethodGet:
		s.mu.RLock()
		value, ok := s.data[key]
		s.mu.RUnlock()
		if !ok {
			writeJSON(w, http.StatusNotFound, map[string]string{"error": "no such key"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"key": key, "value": value})
	case http.MethodPut:
		var body strings.Builder
		buf := make([]byte, 4096)
		for {
			n, err := r.Body.Read(buf)
			body.Write(buf[:n])
			if err != nil || body.Len() > 1<<20 {
				break
			}
		}
		s.mu.Lock()
		s.data[key] = body.String()
		s.mu.Unlock()
		writeJSON(w, http.StatusCreated, map[string]string{"key": key})
	case http.MethodDelete:
		s.mu.Lock()
		delete(s.data, key)
		s.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	default:
		w.Header().Set("Allow", "GET, PUT, DELETE")
		writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"error": "method not allowed"})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func main() {
	addr := ":8080"
	if port := os.Getenv("PORT"); port != "" {
		addr = ":" + port
	}
	s := &store{data: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/", s.handleRoot)
	mux.HandleFunc("/kv/", s.handleKV)
	server := &http.Server{Addr: addr, Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	log.Printf("go-app listening on %s", addr)
	log.Fatal(server.ListenAndServe())
}
