// Package doccheck holds a test that keeps the repository explaining
// itself: code and documents cite the project's own docs/ (see
// docs/time-engine.md, docs/moodle-data.md, docs/protocols.md), never
// documents that live outside the repository, and every "docs/X.md §N"
// they cite names a heading that exists.
package doccheck

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// scanned are the kinds of file whose text is checked.
var scanned = map[string]bool{".go": true, ".md": true, ".sql": true, ".php": true, ".sh": true, ".graphqls": true}

// skippedDirs are never walked: history, third-party trees and fixtures.
var skippedDirs = map[string]bool{".git": true, "node_modules": true, "vendor": true, "testdata": true}

// outside are citations of documents a clone of the repository does not
// have. They are assembled from parts so this file does not cite them.
var outside = []string{
	"../" + "shared",
	"shared/" + "spec",
	"spec" + "/",
	"DESIGN" + ".md",
	"usestats-" + "reference",
	"moodle-" + "schema",
	"mnet-and-" + "ws",
	"peers" + ".md",
	"spec" + " §",
	"reference" + " §",
}

// pending are files allowed to cite outside documents while they are
// being rewritten (none now). A listed file that no longer cites anything
// outside fails the test, so the list only shrinks.
var pending = map[string]bool{}

var (
	// docRef is a citation of a project document with its sections:
	// "docs/time-engine.md §3.2", "docs/moodle-data.md §3.1, §4",
	// "[docs/protocols.md](../../docs/protocols.md) §1–§3".
	docRef = regexp.MustCompile(`docs/([\w-]+\.md)(?:\]\([^)]*\))?((?:\s*(?:,|–|-|and)?\s*§\d+(?:\.\d+)*)+)`)
	// section is one "§N" or "§N.M".
	section = regexp.MustCompile(`§(\d+(?:\.\d+)*)`)
	// heading is a numbered Markdown heading: "## 3. Totals", "### 3.1 x".
	heading = regexp.MustCompile(`(?m)^#{1,6}\s+(\d+(?:\.\d+)*)\.?\s`)
)

// root is the repository root, two levels above this package.
func root(t *testing.T) string {
	t.Helper()
	r, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(r, "go.mod")); err != nil {
		t.Fatalf("repository root not found at %s: %v", r, err)
	}
	return r
}

// files returns the scanned files of the repository, relative to root,
// with their text; this package's own files are left out.
func files(t *testing.T, root string) map[string]string {
	t.Helper()
	self, err := filepath.Abs(".")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != root && (skippedDirs[d.Name()] || p == self) {
				return filepath.SkipDir
			}
			return nil
		}
		if !scanned[filepath.Ext(p)] {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		out[filepath.ToSlash(rel)] = string(b)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// headings returns the numbered sections of a document.
func headings(text string) map[string]bool {
	h := map[string]bool{}
	for _, m := range heading.FindAllStringSubmatch(text, -1) {
		h[m[1]] = true
	}
	return h
}

// lineOf is the 1-based line of offset i in text.
func lineOf(text string, i int) int { return strings.Count(text[:i], "\n") + 1 }

// TestNoOutsideCitations fails when a file cites a document that lives
// outside the repository.
func TestNoOutsideCitations(t *testing.T) {
	r := root(t)
	for name, text := range files(t, r) {
		if pending[name] {
			if !citesOutside(text) {
				t.Errorf("%s no longer cites outside documents: remove it from pending", name)
			}
			continue
		}
		for _, o := range outside {
			for i := 0; ; {
				j := strings.Index(text[i:], o)
				if j < 0 {
					break
				}
				i += j
				t.Errorf("%s:%d cites %q, which a clone does not have: cite docs/ instead", name, lineOf(text, i), o)
				i += len(o)
			}
		}
	}
}

// citesOutside reports whether text cites any outside document.
func citesOutside(text string) bool {
	for _, o := range outside {
		if strings.Contains(text, o) {
			return true
		}
	}
	return false
}

// TestDocSectionsExist fails when a citation "docs/X.md §N" names a
// document or a section heading that does not exist, or when a document
// under docs/ refers to a section "§N" of its own that it lacks.
func TestDocSectionsExist(t *testing.T) {
	r := root(t)
	all := files(t, r)
	docs := map[string]map[string]bool{}
	for name, text := range all {
		if strings.HasPrefix(name, "docs/") && strings.Count(name, "/") == 1 {
			docs[strings.TrimPrefix(name, "docs/")] = headings(text)
		}
	}
	for name, text := range all {
		for _, m := range docRef.FindAllStringSubmatchIndex(text, -1) {
			doc := text[m[2]:m[3]]
			h, ok := docs[doc]
			if !ok {
				t.Errorf("%s:%d cites docs/%s, which does not exist", name, lineOf(text, m[0]), doc)
				continue
			}
			for _, s := range section.FindAllStringSubmatch(text[m[4]:m[5]], -1) {
				if !h[s[1]] {
					t.Errorf("%s:%d cites docs/%s §%s, which has no such heading", name, lineOf(text, m[0]), doc, s[1])
				}
			}
		}
		if doc, ok := strings.CutPrefix(name, "docs/"); ok && docs[doc] != nil {
			// Sections cited without a file name are the document's own.
			own := docRef.ReplaceAllString(text, "")
			for _, m := range section.FindAllStringSubmatchIndex(own, -1) {
				if s := own[m[2]:m[3]]; !docs[doc][s] {
					t.Errorf("%s: refers to its own §%s, which has no such heading", name, s)
				}
			}
		}
	}
}

// TestHeadingsUnique fails when a document numbers two sections alike,
// which would make a citation ambiguous.
func TestHeadingsUnique(t *testing.T) {
	r := root(t)
	for name, text := range files(t, r) {
		if !strings.HasPrefix(name, "docs/") {
			continue
		}
		seen := map[string]bool{}
		for _, m := range heading.FindAllStringSubmatch(text, -1) {
			if seen[m[1]] {
				t.Errorf("%s: two headings numbered %s", name, m[1])
			}
			seen[m[1]] = true
		}
	}
}
