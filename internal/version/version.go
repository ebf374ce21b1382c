// Package version says which Kubernetes API version Sampan implements: the
// one of the k8s.io/api module it is built with (DESIGN.md §7).
package version

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	apimachineryversion "k8s.io/apimachinery/pkg/version"
)

// fallback is used when build information is unavailable (some test binaries).
const fallback = "v1.37.2"

// Kubernetes returns the Kubernetes version implemented, e.g. "v1.37.2".
func Kubernetes() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return fallback
	}
	for _, dep := range info.Deps {
		if dep.Path == "k8s.io/api" {
			v := dep.Version
			if dep.Replace != nil {
				v = dep.Replace.Version
			}
			// k8s.io/api v0.X.Y is Kubernetes v1.X.Y.
			if strings.HasPrefix(v, "v0.") {
				return "v1." + strings.TrimPrefix(v, "v0.")
			}
		}
	}
	return fallback
}

// Info is the /version answer.
func Info() apimachineryversion.Info {
	v := Kubernetes()
	var major, minor string
	parts := strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3)
	if len(parts) >= 2 {
		major, minor = parts[0], parts[1]
	}
	return apimachineryversion.Info{
		Major:        major,
		Minor:        minor,
		GitVersion:   v,
		GitTreeState: "clean",
		GoVersion:    runtime.Version(),
		Compiler:     runtime.Compiler,
		Platform:     fmt.Sprintf("%s/%s", runtime.GOOS, runtime.GOARCH),
	}
}

// Agent returns the version a node agent reports as kubeletVersion.
func Agent() string { return Kubernetes() + "-sampan" }
