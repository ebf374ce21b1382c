package openapi

import (
	"fmt"
	"sort"

	"k8s.io/kube-openapi/pkg/common"
	"k8s.io/kube-openapi/pkg/validation/spec"
)

// Option kinds whose fields are the query parameters of the operations.
const (
	modelListOptions   = "io.k8s.apimachinery.pkg.apis.meta.v1.ListOptions"
	modelCreateOptions = "io.k8s.apimachinery.pkg.apis.meta.v1.CreateOptions"
	modelUpdateOptions = "io.k8s.apimachinery.pkg.apis.meta.v1.UpdateOptions"
	modelPatchOptions  = "io.k8s.apimachinery.pkg.apis.meta.v1.PatchOptions"
	modelPodLogOptions = "io.k8s.api.core.v1.PodLogOptions"
)

// paramSets are the parameters operations share. Query parameters are the
// fields of the option kinds the API server decodes them into, so their
// descriptions and types come from the generated definitions of those kinds.
type paramSets struct {
	defs map[string]common.OpenAPIDefinition

	pretty, namespace, name, proxyPath param

	list, create, update, patch, delete, deleteCollection, log []param
}

func newParamSets(defs map[string]common.OpenAPIDefinition) (*paramSets, error) {
	s := &paramSets{
		defs: defs,
		pretty: param{name: "pretty", kind: common.QueryParameterKind, dataType: "string",
			description: "If 'true', the response is indented for people to read."},
		namespace: param{name: "namespace", kind: common.PathParameterKind, dataType: "string", required: true,
			description: "namespace of the objects, the unit of naming and access control"},
		name: param{name: "name", kind: common.PathParameterKind, dataType: "string", required: true},
		proxyPath: param{name: "path", kind: common.PathParameterKind, dataType: "string", required: true,
			description: "path of the proxied request"},
	}
	listNames := []string{"allowWatchBookmarks", "continue", "fieldSelector", "labelSelector", "limit",
		"resourceVersion", "resourceVersionMatch", "sendInitialEvents", "timeoutSeconds", "watch"}
	// A collection delete lists what it deletes, but never watches.
	collectionNames := []string{"continue", "fieldSelector", "labelSelector", "limit",
		"resourceVersion", "resourceVersionMatch", "sendInitialEvents", "timeoutSeconds"}
	deleteNames := []string{"dryRun", "gracePeriodSeconds", "ignoreStoreReadErrorWithClusterBreakingPotential",
		"orphanDependents", "propagationPolicy"}
	writeNames := []string{"dryRun", "fieldManager", "fieldValidation"}
	var err error
	for _, set := range []struct {
		into  *[]param
		model string
		names []string
	}{
		{&s.list, modelListOptions, listNames},
		{&s.create, modelCreateOptions, writeNames},
		{&s.update, modelUpdateOptions, writeNames},
		{&s.patch, modelPatchOptions, append(writeNames, "force")},
		{&s.delete, modelDeleteOptions, deleteNames},
		{&s.deleteCollection, modelDeleteOptions, deleteNames},
	} {
		if *set.into, err = s.query(set.model, set.names...); err != nil {
			return nil, err
		}
	}
	more, err := s.query(modelListOptions, collectionNames...)
	if err != nil {
		return nil, err
	}
	s.deleteCollection = append(s.deleteCollection, more...)
	if s.log, err = s.fromModel(modelPodLogOptions); err != nil {
		return nil, err
	}
	return s, nil
}

// query returns the named fields of model as query parameters.
func (s *paramSets) query(model string, names ...string) ([]param, error) {
	def, ok := s.defs[model]
	if !ok {
		return nil, fmt.Errorf("reading query parameters: no definition of %s", model)
	}
	out := make([]param, 0, len(names))
	for _, n := range names {
		prop, ok := def.Schema.Properties[n]
		if !ok {
			return nil, fmt.Errorf("reading query parameters: %s has no field %q", model, n)
		}
		typ := simpleType(prop)
		if typ == "" {
			return nil, fmt.Errorf("reading query parameters: field %q of %s is not a simple type", n, model)
		}
		out = append(out, param{name: n, kind: common.QueryParameterKind, dataType: typ, description: prop.Description})
	}
	return out, nil
}

// fromModel returns every field of an options kind that a query parameter
// can carry (not apiVersion and kind, not structured fields like times).
func (s *paramSets) fromModel(model string) ([]param, error) {
	def, ok := s.defs[model]
	if !ok {
		return nil, fmt.Errorf("reading query parameters: no definition of %s", model)
	}
	var names []string
	for n, prop := range def.Schema.Properties {
		if n != "apiVersion" && n != "kind" && simpleType(prop) != "" {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return s.query(model, names...)
}

// simpleType is the parameter type of a field: its own type, or its item
// type for lists (a list parameter is repeated).
func simpleType(prop spec.Schema) string {
	if len(prop.Type) != 1 {
		return ""
	}
	switch t := prop.Type[0]; t {
	case "string", "boolean", "integer":
		return t
	case "array":
		if prop.Items != nil && prop.Items.Schema != nil {
			return simpleType(*prop.Items.Schema)
		}
	}
	return ""
}
