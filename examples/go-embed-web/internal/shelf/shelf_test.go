package shelf

import "testing"

func TestAddListDelete(t *testing.T) {
	s := New()
	if _, err := s.Add("not a url", "", nil); err != ErrInvalid {
		t.Fatalf("want ErrInvalid, got %v", err)
	}
	a, err := s.Add("https://go.dev/doc/", "", []string{" Go ", "docs"})
	if err != nil {
		t.Fatal(err)
	}
	if a.Title != "go.dev" || len(a.Tags) != 2 || a.Tags[0] != "docs" {
		t.Fatalf("unexpected link %+v", a)
	}
	b, _ := s.Add("https://pkg.go.dev/net/http", "net/http", []string{"go"})
	if got := s.List("go"); len(got) != 2 || got[0].ID != b.ID {
		t.Fatalf("List(go) = %+v", got)
	}
	if got := s.List("docs"); len(got) != 1 {
		t.Fatalf("List(docs) = %+v", got)
	}
	if s.Tags()["go"] != 2 {
		t.Fatalf("Tags() = %v", s.Tags())
	}
	if !s.Delete(a.ID) || s.Delete(a.ID) {
		t.Fatal("Delete should succeed once")
	}
}
