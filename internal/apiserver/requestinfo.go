package apiserver

import (
	"net/http"
	"strings"
)

// requestInfo is what the URL and method of a request say about it.
type requestInfo struct {
	IsResourceRequest bool
	Path              string
	Verb              string // get, list, watch, create, update, patch, delete, deletecollection (or the lowercase method for non-resource requests)
	APIPrefix         string // "api" or "apis"
	APIGroup          string
	APIVersion        string
	Namespace         string
	Resource          string
	Subresource       string
	Name              string
	Parts             []string
}

// namespaceSubresources are the subresources of a namespace object, so that
// /api/v1/namespaces/{name}/status is not read as a resource "status" in that namespace.
var namespaceSubresources = map[string]bool{"status": true, "finalize": true}

// parseRequestInfo reads /api/v1/…, /apis/group/version/… paths the way
// upstream does. Anything else is a non-resource request.
func parseRequestInfo(r *http.Request) *requestInfo {
	info := &requestInfo{Path: r.URL.Path, Verb: strings.ToLower(r.Method)}
	parts := splitPath(r.URL.Path)
	if len(parts) < 1 || (parts[0] != "api" && parts[0] != "apis") {
		return info
	}
	info.APIPrefix = parts[0]
	parts = parts[1:]
	if info.APIPrefix == "api" {
		if len(parts) < 1 {
			return info
		}
		info.APIVersion = parts[0]
		parts = parts[1:]
	} else {
		if len(parts) < 2 {
			if len(parts) == 1 {
				info.APIGroup = parts[0]
			}
			return info
		}
		info.APIGroup, info.APIVersion = parts[0], parts[1]
		parts = parts[2:]
	}
	if len(parts) == 0 {
		return info // discovery of a group version
	}
	info.IsResourceRequest = true

	switch r.Method {
	case http.MethodPost:
		info.Verb = "create"
	case http.MethodGet, http.MethodHead:
		info.Verb = "get"
	case http.MethodPut:
		info.Verb = "update"
	case http.MethodPatch:
		info.Verb = "patch"
	case http.MethodDelete:
		info.Verb = "delete"
	default:
		info.Verb = ""
	}

	// Deprecated /watch/ paths.
	if parts[0] == "watch" {
		if info.Verb == "get" {
			info.Verb = "watch"
		}
		parts = parts[1:]
		if len(parts) == 0 {
			info.IsResourceRequest = false
			return info
		}
	}

	if parts[0] == "namespaces" {
		if len(parts) > 1 {
			info.Namespace = parts[1]
			if len(parts) > 2 && !namespaceSubresources[parts[2]] {
				parts = parts[2:]
			}
		}
	}
	info.Parts = parts
	if len(parts) >= 3 {
		info.Subresource = parts[2]
	}
	if len(parts) >= 2 {
		info.Name = parts[1]
	}
	info.Resource = parts[0]
	// A namespace object: /api/v1/namespaces/{name}[/status] has no namespace of its own.
	if info.Resource == "namespaces" {
		info.Namespace = ""
	}

	if info.Name == "" && info.Verb == "get" {
		info.Verb = "list"
		if isWatch(r) {
			info.Verb = "watch"
		}
	} else if info.Verb == "get" && isWatch(r) && info.Subresource == "" {
		// GET /api/v1/namespaces/ns/pods/name?watch=1 is a watch on one object.
		info.Verb = "watch"
	}
	if info.Name == "" && info.Verb == "delete" {
		info.Verb = "deletecollection"
	}
	return info
}

func isWatch(r *http.Request) bool {
	v := r.URL.Query().Get("watch")
	return v == "true" || v == "1"
}

func splitPath(p string) []string {
	p = strings.Trim(p, "/")
	if p == "" {
		return nil
	}
	return strings.Split(p, "/")
}
