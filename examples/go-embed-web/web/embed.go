// Package web holds the HTML templates and static files, embedded in the binary.
package web

import (
	"embed"
	"html/template"
	"io/fs"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static
var staticFiles embed.FS

// Templates parses the embedded templates.
func Templates() *template.Template {
	return template.Must(template.ParseFS(templateFiles, "templates/*.html"))
}

// Static is the embedded static/ directory, rooted at static/.
func Static() fs.FS {
	sub, err := fs.Sub(staticFiles, "static")
	if err != nil {
		panic(err)
	}
	return sub
}
