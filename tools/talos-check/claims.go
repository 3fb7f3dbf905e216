package main

// Tracking user-set values through the patch sequence. Every value a patch sets is a claim on the
// document it patches; after each later patch the claims are checked against the configuration as it then
// is. A claim that no longer holds was overridden by that patch; a claim that does not hold right after its
// own patch never took effect.

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"slices"
	"strings"

	yaml "go.yaml.in/yaml/v4"
)

// documents maps a document key ("v1alpha1", "HostnameConfig", "Layer2VIPConfig/10.0.0.5") to its content.
type documents map[string]map[string]any

type claim struct {
	doc    string
	path   []string
	value  any
	inList bool // value is one item the list at path must contain (Talos appends most lists)
	origin Origin
}

func (c claim) where() string { return strings.Join(c.path, ".") }

// parseDocuments reads a (multi-document) YAML text into documents by key; list documents (JSON 6902
// patches) are skipped.
func parseDocuments(text []byte) (documents, error) {
	out := documents{}
	dec := yaml.NewDecoder(bytes.NewReader(text))

	for {
		var doc any

		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			return out, nil
		}

		if err != nil {
			return nil, err
		}

		m, ok := doc.(map[string]any)
		if !ok {
			continue
		}

		out[documentKey(m)] = m
	}
}

// documentKey identifies a document the way a strategic-merge patch finds its target: the v1alpha1
// config has no kind; other documents are matched by kind and, for named kinds, name.
func documentKey(doc map[string]any) string {
	kind, ok := doc["kind"].(string)
	if !ok {
		return "v1alpha1"
	}

	if name, named := doc["name"].(string); named {
		return kind + "/" + name
	}

	return kind
}

// claimsOf lists the values a patch text sets. `$patch` directives claim nothing.
func claimsOf(text string, origin Origin) []claim {
	docs, err := parseDocuments([]byte(text))
	if err != nil {
		return nil
	}

	var out []claim

	for key, doc := range docs {
		typed := key != "v1alpha1"

		var walk func(node any, path []string)

		walk = func(node any, path []string) {
			switch v := node.(type) {
			case map[string]any:
				if _, directive := v["$patch"]; directive {
					return
				}

				for k, child := range v {
					if typed && len(path) == 0 && (k == "apiVersion" || k == "kind" || k == "name") {
						continue
					}

					walk(child, append(slices.Clone(path), k))
				}
			case []any:
				for _, item := range v {
					if m, ok := item.(map[string]any); ok {
						if _, directive := m["$patch"]; directive {
							continue
						}
					}

					out = append(out, claim{doc: key, path: path, value: item, inList: true, origin: origin})
				}
			default:
				out = append(out, claim{doc: key, path: path, value: v, origin: origin})
			}
		}

		walk(doc, nil)
	}

	slices.SortFunc(out, func(a, b claim) int { return strings.Compare(a.doc+":"+a.where(), b.doc+":"+b.where()) })

	return out
}

// lookup returns the value at path in the document, and whether it is there.
func (d documents) lookup(doc string, path []string) (any, bool) {
	var node any = d[doc]
	if d[doc] == nil {
		return nil, false
	}

	for _, key := range path {
		m, ok := node.(map[string]any)
		if !ok {
			return nil, false
		}

		if node, ok = m[key]; !ok {
			return nil, false
		}
	}

	return node, true
}

// holds says whether the claim is true of the configuration, with the value there now and, when a
// Talos rule rather than the value itself defeats the claim, why.
func (c claim) holds(state documents) (ok bool, now any, reason string) {
	now, present := state.lookup(c.doc, c.path)
	if !present {
		return false, nil, ""
	}

	if c.inList {
		list, isList := now.([]any)
		if !isList || !slices.ContainsFunc(list, func(item any) bool { return sameValue(item, c.value) }) {
			return false, now, ""
		}
	} else if !sameValue(now, c.value) {
		return false, now, ""
	}

	// A node installs to the disk the selector picks whenever machine.install.diskSelector is set
	// (talos@v1.13.9 internal/app/machined/pkg/runtime/v1alpha1/v1alpha1_sequencer_tasks.go Install), so
	// machine.install.disk is then ignored.
	if c.doc == "v1alpha1" && c.where() == "machine.install.disk" {
		if selector, set := state.lookup("v1alpha1", []string{"machine", "install", "diskSelector"}); set && selector != nil {
			return false, now, "machine.install.diskSelector is set, and Talos installs to the disk the selector picks"
		}
	}

	return true, now, ""
}

// sameValue compares decoded YAML values by their JSON form, so 7445 (int) equals 7445 (uint64).
func sameValue(a, b any) bool {
	ja, errA := json.Marshal(a)
	jb, errB := json.Marshal(b)

	return errA == nil && errB == nil && bytes.Equal(ja, jb)
}

// trackOverrides replays the claims of patches[i] (with origins[i]) over states[i], the configuration
// right after patches[i] was applied, and returns every user-set value (level ≥ 1) that a later patch of
// the same or a lower level changes, or that does not take effect at all.
func trackOverrides(patches []string, origins []Origin, states []documents) []Override {
	overrides := []Override{}

	var live, all []claim

	for k, text := range patches {
		state := states[k]

		live = slices.DeleteFunc(live, func(c claim) bool {
			ok, now, reason := c.holds(state)
			if ok {
				return false
			}

			if origins[k].Level <= c.origin.Level { // a more specific patch may override: documented precedence
				overrides = append(overrides, override(c, origins[k], now, reason))
			}

			return true
		})

		for _, c := range claimsOf(text, origins[k]) {
			all = append(all, c)

			if c.origin.Level < 1 {
				continue
			}

			if ok, now, reason := c.holds(state); !ok {
				if reason == "" {
					reason = "the value does not reach the configuration: Talos's merge kept what was there"
				}

				overrides = append(overrides, override(c, culprit(all, c, k, origins), now, reason))

				continue
			}

			live = append(live, c)
		}
	}

	return overrides
}

// culprit names what keeps a claim from taking effect at its own patch: for an install disk, the last
// patch that set a disk selector; otherwise the claim's own patch (Talos's merge dropped the value).
func culprit(all []claim, c claim, k int, origins []Origin) Origin {
	if c.doc == "v1alpha1" && c.where() == "machine.install.disk" {
		for i := len(all) - 1; i >= 0; i-- {
			if all[i].doc == "v1alpha1" && strings.HasPrefix(all[i].where(), "machine.install.diskSelector") {
				return all[i].origin
			}
		}
	}

	return origins[k]
}

func override(c claim, by Origin, now any, reason string) Override {
	return Override{
		Document:     c.doc,
		Path:         c.where(),
		Value:        c.value,
		SetBy:        c.origin,
		OverriddenBy: by,
		Now:          now,
		Reason:       reason,
	}
}
