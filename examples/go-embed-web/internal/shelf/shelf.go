// Package shelf keeps a list of bookmarks in memory, safe for concurrent use.
package shelf

import (
	"errors"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"
)

// Link is one bookmark.
type Link struct {
	ID      int       `json:"id"`
	URL     string    `json:"url"`
	Title   string    `json:"title"`
	Tags    []string  `json:"tags"`
	Created time.Time `json:"created"`
}

// ErrInvalid is returned for a link without an absolute http(s) URL.
var ErrInvalid = errors.New("a link needs an absolute http or https url")

// Shelf is the in-memory store.
type Shelf struct {
	mu    sync.RWMutex
	next  int
	links map[int]Link
}

// New returns an empty shelf.
func New() *Shelf {
	return &Shelf{next: 1, links: map[int]Link{}}
}

// Add validates and stores a link, returning it with its id.
func (s *Shelf) Add(raw, title string, tags []string) (Link, error) {
	u, err := url.Parse(strings.TrimSpace(raw))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return Link{}, ErrInvalid
	}
	if title == "" {
		title = u.Host
	}
	clean := make([]string, 0, len(tags))
	for _, t := range tags {
		if t = strings.ToLower(strings.TrimSpace(t)); t != "" {
			clean = append(clean, t)
		}
	}
	sort.Strings(clean)
	s.mu.Lock()
	defer s.mu.Unlock()
	link := Link{ID: s.next, URL: u.String(), Title: title, Tags: clean, Created: time.Now().UTC()}
	s.links[link.ID] = link
	s.next++
	return link, nil
}

// Delete removes a link; it reports whether the link existed.
func (s *Shelf) Delete(id int) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	_, ok := s.links[id]
	delete(s.links, id)
	return ok
}

// List returns the links with the given tag (all links for ""), newest first.
func (s *Shelf) List(tag string) []Link {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Link, 0, len(s.links))
	for _, l := range s.links {
		if tag == "" || contains(l.Tags, tag) {
			out = append(out, l)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID > out[j].ID })
	return out
}

// Tags counts the links per tag.
func (s *Shelf) Tags() map[string]int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	counts := map[string]int{}
	for _, l := range s.links {
		for _, t := range l.Tags {
			counts[t]++
		}
	}
	return counts
}

func contains(list []string, item string) bool {
	for _, v := range list {
		if v == item {
			return true
		}
	}
	return false
}
