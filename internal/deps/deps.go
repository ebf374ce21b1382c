package deps

import (
	_ "github.com/prometheus/client_golang/prometheus"
	_ "github.com/spf13/cobra"
	_ "go.etcd.io/bbolt"
	_ "k8s.io/api/core/v1"
	_ "k8s.io/apimachinery/pkg/runtime"
	_ "k8s.io/client-go/kubernetes"
	_ "k8s.io/kube-openapi/pkg/builder3"
	_ "k8s.io/kubectl/pkg/cmd"
	_ "k8s.io/utils/clock"
	_ "sigs.k8s.io/structured-merge-diff/v6/fieldpath"
)
