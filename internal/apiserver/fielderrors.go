package apiserver

import (
	"strings"

	"k8s.io/apimachinery/pkg/util/validation/field"
)

type fieldError = field.Error

func pathOf(p string) *field.Path {
	parts := strings.Split(p, ".")
	return field.NewPath(parts[0], parts[1:]...)
}

func requiredName() *field.Error {
	return field.Required(field.NewPath("metadata", "name"), "name or generateName is required")
}

func fieldNotSupported(p string, value string, valid []string) *field.Error {
	return field.NotSupported(pathOf(p), value, valid)
}

func fieldInvalid(p string, value interface{}, detail string) *field.Error {
	return field.Invalid(pathOf(p), value, detail)
}

func fieldRequired(p, detail string) *field.Error {
	return field.Required(pathOf(p), detail)
}
