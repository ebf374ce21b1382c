package e2e

import (
	"context"
	"encoding/json"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
)

// gcTimeout bounds waits that depend on the garbage collector or the namespace controller.
const gcTimeout = 60 * time.Second

func TestKubectlDiscovery(t *testing.T) {
	s := startServer(t, "")

	out := s.kubectl(t, "version")
	if !regexp.MustCompile(`(?m)^Server Version: v1\.37\.\d+$`).MatchString(out) {
		t.Errorf("kubectl version: no Server Version v1.37.x:\n%s", out)
	}
	contains(t, "version", out, "Client Version: v1.37.")

	out = s.kubectl(t, "cluster-info")
	contains(t, "cluster-info", out, "Kubernetes control plane is running at https://127.0.0.1:")

	out = s.kubectl(t, "api-resources")
	fields := regexp.MustCompile(`\s+`)
	rows := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		f := fields.Split(strings.TrimSpace(l), -1)
		rows[f[0]] = strings.Join(f, " ")
	}
	for name, want := range map[string]string{
		"deployments":            "deployments deploy apps/v1 true Deployment",
		"pods":                   "pods po v1 true Pod",
		"services":               "services svc v1 true Service",
		"namespaces":             "namespaces ns v1 false Namespace",
		"configmaps":             "configmaps cm v1 true ConfigMap",
		"secrets":                "secrets v1 true Secret",
		"replicasets":            "replicasets rs apps/v1 true ReplicaSet",
		"nodes":                  "nodes no v1 false Node",
		"jobs":                   "jobs batch/v1 true Job",
		"serviceaccounts":        "serviceaccounts sa v1 true ServiceAccount",
		"persistentvolumeclaims": "persistentvolumeclaims pvc v1 true PersistentVolumeClaim",
	} {
		if rows[name] != want {
			t.Errorf("api-resources %s: got %q, want %q", name, rows[name], want)
		}
	}
	if !strings.HasPrefix(out, "NAME") || !strings.Contains(strings.SplitN(out, "\n", 2)[0], "SHORTNAMES") {
		t.Errorf("api-resources header: %q", strings.SplitN(out, "\n", 2)[0])
	}

	out = s.kubectl(t, "api-versions")
	versions := strings.Fields(out)
	for _, want := range []string{"v1", "apps/v1", "batch/v1", "autoscaling/v1", "autoscaling/v2", "policy/v1"} {
		found := false
		for _, v := range versions {
			found = found || v == want
		}
		if !found {
			t.Errorf("api-versions: missing %s in %v", want, versions)
		}
	}

	out = s.kubectl(t, "get", "all", "-A")
	if !regexp.MustCompile(`(?m)^default\s+service/kubernetes\s+ClusterIP\s+10\.96\.0\.1\s+<none>\s+443/TCP\s`).MatchString(out) {
		t.Errorf("get all -A: no service/kubernetes row with 10.96.0.1:\n%s", out)
	}
}

func TestKubectlApply(t *testing.T) {
	s := startServer(t, "")
	dep, svc := "../../examples/seed/nginx-deployment.yaml", "../../examples/seed/nginx-service.yaml"

	out := s.kubectl(t, "apply", "-f", dep, "-f", svc)
	contains(t, "first apply", out, "deployment.apps/nginx-deployment created", "service/nginx-service created")
	out = s.kubectl(t, "apply", "-f", dep, "-f", svc)
	contains(t, "re-apply", out, "deployment.apps/nginx-deployment unchanged", "service/nginx-service unchanged")

	edited := strings.Replace(readSeed(t, "nginx-deployment.yaml"), "replicas: 3", "replicas: 2", 1)
	out = s.kubectl(t, "apply", "-f", writeFile(t, "dep.yaml", edited))
	contains(t, "edited apply", out, "deployment.apps/nginx-deployment configured")
	if got := s.kubectl(t, "get", "deploy", "nginx-deployment", "-o", "jsonpath={.spec.replicas}"); got != "2" {
		t.Errorf("replicas after edited apply: %q, want 2", got)
	}

	out = s.kubectl(t, "get", "deploy,svc", "-o", "wide")
	header := regexp.MustCompile(`\s+`)
	var heads []string
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "NAME ") {
			heads = append(heads, header.ReplaceAllString(strings.TrimSpace(l), " "))
		}
	}
	want := []string{
		"NAME READY UP-TO-DATE AVAILABLE AGE CONTAINERS IMAGES SELECTOR",
		"NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE SELECTOR",
	}
	if strings.Join(heads, "|") != strings.Join(want, "|") {
		t.Errorf("get deploy,svc -o wide headers:\n got %q\nwant %q\n%s", heads, want, out)
	}
	if !regexp.MustCompile(`(?m)^deployment\.apps/nginx-deployment\s+0/2\s+\d+\s+\d+\s+\S+\s+nginx\s+nginx:latest\s+app=nginx\s*$`).MatchString(out) {
		t.Errorf("get -o wide: no deployment row:\n%s", out)
	}
	if !regexp.MustCompile(`(?m)^service/nginx-service\s+NodePort\s+10\.\d+\.\d+\.\d+\s+<none>\s+88:3\d{4}/TCP\s+\S+\s+app=nginx\s*$`).MatchString(out) {
		t.Errorf("get -o wide: no NodePort service row with 88:3xxxx/TCP and a 10.x ClusterIP:\n%s", out)
	}
}

func TestKubectlMutate(t *testing.T) {
	s := startServer(t, "")
	s.kubectl(t, "apply", "-f", "../../examples/seed/nginx-deployment.yaml")
	get := func(path string) string {
		t.Helper()
		return s.kubectl(t, "get", "deployment", "nginx-deployment", "-o", "jsonpath="+path)
	}

	contains(t, "scale", s.kubectl(t, "scale", "deployment", "nginx-deployment", "--replicas=5"), "deployment.apps/nginx-deployment scaled")
	if got := get("{.spec.replicas}"); got != "5" {
		t.Errorf("replicas after scale: %q, want 5", got)
	}

	contains(t, "label", s.kubectl(t, "label", "deployment", "nginx-deployment", "tier=web"), "deployment.apps/nginx-deployment labeled")
	if got := get("{.metadata.labels.tier}"); got != "web" {
		t.Errorf("label tier: %q", got)
	}
	contains(t, "annotate", s.kubectl(t, "annotate", "deployment", "nginx-deployment", "owner=team-a"), "deployment.apps/nginx-deployment annotated")
	if got := get("{.metadata.annotations.owner}"); got != "team-a" {
		t.Errorf("annotation owner: %q", got)
	}

	for _, p := range []struct{ typ, patch, path, want string }{
		{"strategic", `{"spec":{"template":{"spec":{"containers":[{"name":"nginx","imagePullPolicy":"Always"}]}}}}`, "{.spec.template.spec.containers[0].imagePullPolicy}", "Always"},
		{"merge", `{"metadata":{"labels":{"patched":"merge"}}}`, "{.metadata.labels.patched}", "merge"},
		{"json", `[{"op":"replace","path":"/spec/minReadySeconds","value":7}]`, "{.spec.minReadySeconds}", "7"},
	} {
		out := s.kubectl(t, "patch", "deployment", "nginx-deployment", "--type="+p.typ, "-p", p.patch)
		contains(t, "patch --type="+p.typ, out, "deployment.apps/nginx-deployment patched")
		if got := get(p.path); got != p.want {
			t.Errorf("after patch --type=%s: %s = %q, want %q", p.typ, p.path, got, p.want)
		}
	}
	// The strategic patch merged into the container list, keeping the image.
	if got := get("{.spec.template.spec.containers[*].name}/{.spec.template.spec.containers[0].image}"); got != "nginx/nginx:latest" {
		t.Errorf("containers after strategic patch: %q", got)
	}

	r := s.kubectlRun(t, []string{`EDITOR=sed -i 's/minReadySeconds: 7/minReadySeconds: 9/'`}, "edit", "deployment", "nginx-deployment")
	if r.code != 0 {
		t.Fatalf("kubectl edit: %s", r)
	}
	contains(t, "edit", r.stdout, "deployment.apps/nginx-deployment edited")
	if got := get("{.spec.minReadySeconds}"); got != "9" {
		t.Errorf("minReadySeconds after edit: %q, want 9", got)
	}

	out := s.kubectl(t, "set", "image", "deployment/nginx-deployment", "nginx=nginx:1.27")
	contains(t, "set image", out, "deployment.apps/nginx-deployment image updated")
	if got := get("{.spec.template.spec.containers[0].image}"); got != "nginx:1.27" {
		t.Errorf("image after set image: %q", got)
	}

	out = s.kubectl(t, "get", "deployment", "nginx-deployment", "-o", "yaml")
	contains(t, "-o yaml", out, "apiVersion: apps/v1\n", "kind: Deployment\n", "  name: nginx-deployment\n", "  replicas: 5\n", "image: nginx:1.27\n", "tier: web\n")

	out = s.kubectl(t, "get", "deployment", "nginx-deployment", "-o", "json")
	var obj struct {
		Kind     string `json:"kind"`
		Metadata struct {
			Name        string            `json:"name"`
			Annotations map[string]string `json:"annotations"`
		} `json:"metadata"`
		Spec struct {
			Replicas int `json:"replicas"`
		} `json:"spec"`
	}
	if err := json.Unmarshal([]byte(out), &obj); err != nil {
		t.Fatalf("-o json: %v\n%s", err, out)
	}
	if obj.Kind != "Deployment" || obj.Metadata.Name != "nginx-deployment" || obj.Spec.Replicas != 5 || obj.Metadata.Annotations["owner"] != "team-a" {
		t.Errorf("-o json: %+v", obj)
	}

	out = s.kubectl(t, "get", "deployments", "-o", "custom-columns=NAME:.metadata.name,REPLICAS:.spec.replicas,IMAGE:.spec.template.spec.containers[0].image")
	if !regexp.MustCompile(`^NAME\s+REPLICAS\s+IMAGE\nnginx-deployment\s+5\s+nginx:1\.27\n$`).MatchString(out) {
		t.Errorf("-o custom-columns:\n%s", out)
	}
}

func TestKubectlWatch(t *testing.T) {
	s := startServer(t, "")
	s.kubectl(t, "create", "configmap", "before", "--from-literal=k=v")

	cmd := exec.Command(sampanBin, "kubectl", "get", "configmaps", "-w", "--output-watch-events")
	cmd.Env = s.kubectlEnv()
	stdout, stderr := &syncBuffer{}, &syncBuffer{}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })

	waitLine := func(re *regexp.Regexp) {
		t.Helper()
		err := wait.PollUntilContextTimeout(context.Background(), 50*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
			return re.MatchString(stdout.String()), nil
		})
		if err != nil {
			t.Fatalf("kubectl get -w: no line matching %s\nstdout:\n%s\nstderr:\n%s", re, stdout, stderr)
		}
	}
	// The initial list, then a watch event for an object created afterwards.
	waitLine(regexp.MustCompile(`(?m)^ADDED\s+before\s+1\s`))
	s.kubectl(t, "create", "configmap", "after", "--from-literal=a=1", "--from-literal=b=2")
	waitLine(regexp.MustCompile(`(?m)^ADDED\s+after\s+2\s`))
	s.kubectl(t, "label", "configmap", "after", "seen=yes")
	waitLine(regexp.MustCompile(`(?m)^MODIFIED\s+after\s+2\s`))
	s.kubectl(t, "delete", "configmap", "after")
	waitLine(regexp.MustCompile(`(?m)^DELETED\s+after\s+2\s`))
	if h := strings.SplitN(stdout.String(), "\n", 2)[0]; !regexp.MustCompile(`^EVENT\s+NAME\s+DATA\s+AGE$`).MatchString(h) {
		t.Errorf("kubectl get -w header: %q", h)
	}
}

func TestKubectlDeleteCascade(t *testing.T) {
	s := startServer(t, "")
	for _, name := range []string{"bg", "fg", "orphan", "fg-nowait", "orphan-nowait"} {
		s.kubectl(t, "create", "configmap", name, "--from-literal=k=v")
	}
	// With --wait (the default) kubectl waits for the object to be gone, which for
	// foreground and orphan takes the garbage collector's finalizer handling.
	for _, c := range []struct{ name, cascade string }{{"bg", "background"}, {"fg", "foreground"}, {"orphan", "orphan"}} {
		out := s.kubectl(t, "delete", "configmap", c.name, "--cascade="+c.cascade, "--timeout="+gcTimeout.String())
		contains(t, "delete --cascade="+c.cascade, out, `configmap "`+c.name+`" deleted`)
		s.waitNotFound(t, 10*time.Second, "configmap", c.name)
	}
	for _, c := range []struct{ name, cascade string }{{"fg-nowait", "foreground"}, {"orphan-nowait", "orphan"}} {
		out := s.kubectl(t, "delete", "configmap", c.name, "--cascade="+c.cascade, "--wait=false")
		contains(t, "delete --wait=false --cascade="+c.cascade, out, `configmap "`+c.name+`" deleted`)
		s.waitNotFound(t, gcTimeout, "configmap", c.name)
	}
	if out := s.kubectl(t, "get", "configmaps", "-o", "name"); strings.Contains(out, "configmap/bg") || strings.Contains(out, "nowait") {
		t.Errorf("deleted configmaps still listed:\n%s", out)
	}
}

func TestKubectlCreateExplainAuthDiff(t *testing.T) {
	s := startServer(t, "")

	contains(t, "create ns", s.kubectl(t, "create", "ns", "team-a"), "namespace/team-a created")
	contains(t, "create configmap", s.kubectl(t, "-n", "team-a", "create", "configmap", "settings", "--from-literal=mode=fast"), "configmap/settings created")
	if got := s.kubectl(t, "-n", "team-a", "get", "configmap", "settings", "-o", "jsonpath={.data.mode}"); got != "fast" {
		t.Errorf("configmap data: %q", got)
	}
	contains(t, "create secret", s.kubectl(t, "-n", "team-a", "create", "secret", "generic", "creds", "--from-literal=password=s3cret"), "secret/creds created")
	if got := s.kubectl(t, "-n", "team-a", "get", "secret", "creds", "-o", "jsonpath={.type} {.data.password}"); got != "Opaque czNjcmV0" {
		t.Errorf("secret: %q, want Opaque and base64 of s3cret", got)
	}

	out := s.kubectl(t, "explain", "deployment.spec.strategy")
	contains(t, "explain", out, "KIND:       Deployment", "rollingUpdate", "RollingUpdateDeployment")

	if out := s.kubectl(t, "auth", "can-i", "create", "pods"); strings.TrimSpace(out) != "yes" {
		t.Errorf("auth can-i create pods: %q", out)
	}

	dep := "../../examples/seed/nginx-deployment.yaml"
	s.kubectl(t, "apply", "-f", dep)
	edited := writeFile(t, "dep.yaml", strings.Replace(readSeed(t, "nginx-deployment.yaml"), "replicas: 3", "replicas: 4", 1))
	out = s.kubectl(t, "apply", "--dry-run=server", "-f", edited)
	contains(t, "apply --dry-run=server", out, "deployment.apps/nginx-deployment configured (server dry run)")
	if got := s.kubectl(t, "get", "deploy", "nginx-deployment", "-o", "jsonpath={.spec.replicas}"); got != "3" {
		t.Errorf("replicas after server dry run: %q, want 3 (unchanged)", got)
	}
	out = s.kubectl(t, "create", "configmap", "dry", "--from-literal=k=v", "--dry-run=server")
	contains(t, "create --dry-run=server", out, "configmap/dry created (server dry run)")
	s.waitNotFound(t, 10*time.Second, "configmap", "dry")

	if _, err := exec.LookPath("diff"); err != nil {
		t.Skip("kubectl diff needs a diff program")
	}
	r := s.kubectlRun(t, nil, "diff", "-f", edited)
	if r.code != 1 {
		t.Errorf("diff of an edited manifest: want exit 1: %s", r)
	}
	contains(t, "diff", r.stdout, "-  replicas: 3", "+  replicas: 4")
	r = s.kubectlRun(t, nil, "diff", "-f", dep)
	if r.code != 0 || r.stdout != "" {
		t.Errorf("diff of the applied manifest: want exit 0 and no output: %s", r)
	}

	// Namespace deletion completes once the namespace controller has emptied it.
	contains(t, "delete ns", s.kubectl(t, "delete", "ns", "team-a", "--wait=false"), `namespace "team-a" deleted`)
	s.waitNotFound(t, gcTimeout, "namespace", "team-a")
}

func TestKubectlErrors(t *testing.T) {
	s := startServer(t, "")
	seed := readSeed(t, "nginx-deployment.yaml")

	unknown := writeFile(t, "unknown.yaml", strings.Replace(seed, "replicas: 3", "replicass: 3", 1))
	errOut := s.kubectlFail(t, "apply", "-f", unknown)
	contains(t, "unknown field", errOut, `strict decoding error: unknown field "spec.replicass"`)

	capitals := writeFile(t, "capitals.yaml", strings.Replace(seed, "name: nginx-deployment", "name: Nginx-Deployment", 1))
	errOut = s.kubectlFail(t, "apply", "-f", capitals)
	contains(t, "capital name", errOut, `metadata.name: Invalid value: "Nginx-Deployment"`, "lowercase RFC 1123 subdomain")

	s.kubectl(t, "apply", "-f", "../../examples/seed/nginx-deployment.yaml")
	saved := writeFile(t, "saved.yaml", s.kubectl(t, "get", "deployment", "nginx-deployment", "-o", "yaml"))
	s.kubectl(t, "label", "deployment", "nginx-deployment", "bump=1")
	errOut = s.kubectlFail(t, "replace", "-f", saved)
	contains(t, "stale replace", errOut, `Operation cannot be fulfilled on deployments.apps "nginx-deployment": the object has been modified`)
	if got := s.kubectl(t, "get", "deployment", "nginx-deployment", "-o", "jsonpath={.metadata.labels.bump}"); got != "1" {
		t.Errorf("stale replace overwrote a newer write: label bump = %q", got)
	}
}
