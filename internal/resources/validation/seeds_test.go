package validation

import (
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
)

// TestSeedsValidateClean: the objects of the kubeadm seed walk-through pass
// create and no-op update validation once defaulted.
func TestSeedsValidateClean(t *testing.T) {
	deploy := nginxDeployment()
	svc := nginxService()
	stored := allocated(svc, "10.96.12.34", 31080)
	storedDeploy := deploy.DeepCopy()
	storedDeploy.ResourceVersion = "7"
	tests := []struct {
		name string
		obj  runtime.Object
		old  runtime.Object
	}{
		{name: "deployment create", obj: deploy},
		{name: "service create", obj: svc},
		{name: "service create with allocated values", obj: stored},
		{name: "deployment update", obj: storedDeploy, old: storedDeploy.DeepCopy()},
		{name: "service update", obj: stored, old: stored.DeepCopy()},
		{name: "pod create", obj: validPod()},
		{name: "job create", obj: validJob()},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.old == nil {
				checkErrs(t, ValidateCreate(tc.obj))
				return
			}
			checkErrs(t, ValidateUpdate(tc.obj, tc.old))
		})
	}
}
