package printers

import (
	"fmt"
	"strconv"
	"strings"
	"time"

	discoveryv1 "k8s.io/api/discovery/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func ingressPrinter() *Printer {
	return printerOf(
		[]metav1.TableColumnDefinition{
			nameColumn(),
			column("Class", "string", networkingv1.IngressSpec{}.SwaggerDoc()["ingressClassName"]),
			column("Hosts", "string", "The hosts the ingress rules match."),
			column("Address", "string", "The addresses of the load balancer serving the ingress."),
			column("Ports", "string", "The ports the ingress listens on: 80, and 443 with TLS."),
			ageColumn(),
		},
		func(ing *networkingv1.Ingress, now time.Time) []interface{} {
			class := "<none>"
			if ing.Spec.IngressClassName != nil {
				class = *ing.Spec.IngressClassName
			}
			var points []string
			for _, in := range ing.Status.LoadBalancer.Ingress {
				points = append(points, ingressPoint(in.IP, in.Hostname))
			}
			ports := "80"
			if len(ing.Spec.TLS) > 0 {
				ports = "80, 443"
			}
			return []interface{}{
				ing.Name, class, ingressHosts(ing.Spec.Rules), strings.Join(sortedPoints(points), ","),
				ports, age(ing.CreationTimestamp, now),
			}
		},
	)
}

// ingressHosts lists up to three rule hosts ("*" when no rule has one). Once
// three are listed, any further rule is counted as "+ N more...", where N is
// the number of rules beyond three.
func ingressHosts(rules []networkingv1.IngressRule) string {
	const max = 3
	var hosts []string
	more := false
	for _, r := range rules {
		if len(hosts) == max {
			more = true
			break
		}
		if r.Host != "" {
			hosts = append(hosts, r.Host)
		}
	}
	if len(hosts) == 0 {
		return "*"
	}
	out := strings.Join(hosts, ",")
	if more {
		out = fmt.Sprintf("%s + %d more...", out, len(rules)-max)
	}
	return out
}

func ingressClassPrinter() *Printer {
	spec := networkingv1.IngressClassSpec{}.SwaggerDoc()
	return printerOf(
		[]metav1.TableColumnDefinition{
			nameColumn(),
			column("Controller", "string", spec["controller"]),
			column("Parameters", "string", spec["parameters"]),
			ageColumn(),
		},
		func(ic *networkingv1.IngressClass, now time.Time) []interface{} {
			params := "<none>"
			if p := ic.Spec.Parameters; p != nil {
				params = p.Kind
				if p.APIGroup != nil {
					params += "." + *p.APIGroup
				}
				params += "/" + p.Name
			}
			return []interface{}{ic.Name, ic.Spec.Controller, params, age(ic.CreationTimestamp, now)}
		},
	)
}

func networkPolicyPrinter() *Printer {
	return printerOf(
		[]metav1.TableColumnDefinition{
			nameColumn(),
			column("Pod-Selector", "string", networkingv1.NetworkPolicySpec{}.SwaggerDoc()["podSelector"]),
			ageColumn(),
		},
		func(np *networkingv1.NetworkPolicy, now time.Time) []interface{} {
			return []interface{}{np.Name, metav1.FormatLabelSelector(&np.Spec.PodSelector), age(np.CreationTimestamp, now)}
		},
	)
}

func endpointSlicePrinter() *Printer {
	doc := discoveryv1.EndpointSlice{}.SwaggerDoc()
	return printerOf(
		[]metav1.TableColumnDefinition{
			nameColumn(),
			column("AddressType", "string", doc["addressType"]),
			column("Ports", "string", doc["ports"]),
			column("Endpoints", "string", doc["endpoints"]),
			ageColumn(),
		},
		func(es *discoveryv1.EndpointSlice, now time.Time) []interface{} {
			ports := make([]string, 0, len(es.Ports))
			for _, p := range es.Ports {
				switch {
				case p.Port != nil:
					ports = append(ports, strconv.Itoa(int(*p.Port)))
				case p.Name != nil:
					ports = append(ports, *p.Name)
				default:
					ports = append(ports, "*")
				}
			}
			var addrs []string
			for _, ep := range es.Endpoints {
				addrs = append(addrs, ep.Addresses...)
			}
			return []interface{}{
				es.Name, string(es.AddressType), listWithMore(ports, 3), listWithMore(addrs, 3), age(es.CreationTimestamp, now),
			}
		},
	)
}
