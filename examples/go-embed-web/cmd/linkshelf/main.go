// linkshelf: a small bookmark service. HTML pages from embedded templates, a JSON
// API, standard library only.
//
//	GET  /                  the shelf (?tag=go filters)
//	POST /links             add a link from the form, then redirect to /
//	GET  /api/links         links as JSON (?tag= filters)
//	POST /api/links         add a link: {"url": ..., "title": ..., "tags": [...]}
//	DELETE /api/links/{id}  remove a link
//	GET  /api/tags          tag counts
//	GET  /healthz           "ok"
package main

import (
	"encoding/json"
	"flag"
	"html/template"
	"log"
	"net/http"
	"os"
	"strconv"
	"strings"
	"time"

	"example.com/linkshelf/internal/shelf"
	"example.com/linkshelf/web"
)

var version = "dev"

type server struct {
	shelf *shelf.Shelf
	tmpl  *template.Template
}

func main() {
	addr := flag.String("addr", ":"+envOr("PORT", "8080"), "listen address")
	flag.Parse()

	s := &server{shelf: shelf.New(), tmpl: web.Templates()}
	s.shelf.Add("https://go.dev/doc/effective_go", "Effective Go", []string{"go", "docs"})
	s.shelf.Add("https://pkg.go.dev/embed", "package embed", []string{"go"})

	mux := http.NewServeMux()
	mux.HandleFunc("/", s.index)
	mux.HandleFunc("/links", s.formAdd)
	mux.HandleFunc("/api/links", s.apiLinks)
	mux.HandleFunc("/api/links/", s.apiLink)
	mux.HandleFunc("/api/tags", s.apiTags)
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("ok\n")) })
	mux.Handle("/static/", http.StripPrefix("/static/", http.FileServer(http.FS(web.Static()))))

	log.Printf("linkshelf %s listening on %s", version, *addr)
	srv := &http.Server{Addr: *addr, Handler: logged(mux), ReadHeaderTimeout: 5 * time.Second}
	log.Fatal(srv.ListenAndServe())
}

func (s *server) index(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/" {
		http.NotFound(w, r)
		return
	}
	tag := r.URL.Query().Get("tag")
	data := map[string]any{"Links": s.shelf.List(tag), "Tag": tag, "Version": version}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	if err := s.tmpl.ExecuteTemplate(w, "index.html", data); err != nil {
		log.Printf("template: %v", err)
	}
}

func (s *server) formAdd(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodPost {
		http.Error(w, "POST only", http.StatusMethodNotAllowed)
		return
	}
	tags := strings.Split(r.FormValue("tags"), ",")
	if _, err := s.shelf.Add(r.FormValue("url"), r.FormValue("title"), tags); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	http.Redirect(w, r, "/", http.StatusSeeOther)
}

func (s *server) apiLinks(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet:
		writeJSON(w, http.StatusOK, s.shelf.List(r.URL.Query().Get("tag")))
	case http.MethodPost:
		var in struct {
			URL   string   `json:"url"`
			Title string   `json:"title"`
			Tags  []string `json:"tags"`
		}
		if err := json.NewDecoder(r.Body).Decode(&in); err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		link, err := s.shelf.Add(in.URL, in.Title, in.Tags)
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		writeJSON(w, http.StatusCreated, link)
	default:
		http.Error(w, "GET or POST", http.StatusMethodNotAllowed)
	}
}

func (s *server) apiLink(w http.ResponseWriter, r *http.Request) {
	id, err := strconv.Atoi(strings.TrimPrefix(r.URL.Path, "/api/links/"))
	if err != nil || r.Method != http.MethodDelete {
		http.Error(w, "DELETE /api/links/{id}", http.StatusBadRequest)
		return
	}
	if !s.shelf.Delete(id) {
		http.NotFound(w, r)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (s *server) apiTags(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.shelf.Tags())
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.Encode(v)
}

func logged(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		next.ServeHTTP(w, r)
		log.Printf("%s %s %s", r.Method, r.URL.RequestURI(), time.Since(start).Round(time.Microsecond))
	})
}

func envOr(name, fallback string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return fallback
}
