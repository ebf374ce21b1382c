package cli

import (
	"os"
	"path/filepath"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	kubectlcmd "k8s.io/kubectl/pkg/cmd"
	"k8s.io/kubectl/pkg/cmd/plugin"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
)

// defaultDataDir is where init and server keep their state by default.
const defaultDataDir = "/var/lib/sampan"

// defaultKubeconfigs are tried, in order, by `sampan kubectl` when KUBECONFIG is unset.
func defaultKubeconfigs() []string {
	dir := os.Getenv("SAMPAN_DATA_DIR")
	if dir == "" {
		dir = defaultDataDir
	}
	return []string{"/etc/sampan/admin.conf", filepath.Join(dir, "admin.conf")}
}

// newKubectlCommand embeds the real kubectl.
func newKubectlCommand(r *root) *cobra.Command {
	return &cobra.Command{
		Use:                "kubectl",
		Short:              "Run kubectl (the real one, linked in) against this cluster",
		DisableFlagParsing: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			if os.Getenv("KUBECONFIG") == "" && !hasKubeconfigFlag(args) {
				for _, p := range defaultKubeconfigs() {
					if _, err := os.Stat(p); err == nil {
						os.Setenv("KUBECONFIG", p) //nolint:errcheck // read by kubectl's loader below
						break
					}
				}
			}
			code := 0
			cmdutil.BehaviorOnFatal(func(msg string, c int) {
				if msg != "" {
					_, _ = r.err.Write([]byte(msg))
					if msg[len(msg)-1] != '\n' {
						_, _ = r.err.Write([]byte("\n"))
					}
				}
				code = c
				panic(&exitError{code: c})
			})
			defer cmdutil.DefaultBehaviorOnFatal()
			k := kubectlcmd.NewDefaultKubectlCommandWithArgs(kubectlcmd.KubectlOptions{
				PluginHandler: kubectlcmd.NewDefaultPluginHandler(plugin.ValidPluginFilenamePrefixes),
				Arguments:     append([]string{"kubectl"}, args...),
				ConfigFlags:   genericclioptions.NewConfigFlags(true).WithDeprecatedPasswordFlag().WithDiscoveryBurst(300).WithDiscoveryQPS(50.0),
				IOStreams:     genericiooptions.IOStreams{In: r.in, Out: r.out, ErrOut: r.err},
			})
			k.SetArgs(args)
			err := runKubectl(cmd, k)
			if err != nil {
				return err
			}
			if code != 0 {
				return &exitError{code: code}
			}
			return nil
		},
	}
}

// runKubectl executes kubectl, turning its fatal-exit panics into errors.
func runKubectl(parent *cobra.Command, k *cobra.Command) (err error) {
	defer func() {
		if p := recover(); p != nil {
			if e, ok := p.(*exitError); ok {
				err = e
				return
			}
			panic(p)
		}
	}()
	if err := k.ExecuteContext(parent.Context()); err != nil {
		cmdutil.CheckErr(err)
	}
	return nil
}

func hasKubeconfigFlag(args []string) bool {
	for _, a := range args {
		if a == "--kubeconfig" || len(a) > 13 && a[:13] == "--kubeconfig=" {
			return true
		}
	}
	return false
}
