package printers

import (
	"strings"
	"time"

	certificatesv1 "k8s.io/api/certificates/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	storagev1 "k8s.io/api/storage/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/client-go/util/certificate/csr"
	storageutil "k8s.io/kubectl/pkg/util/storage"
)

func leasePrinter() *Printer {
	return printerOf(
		[]metav1.TableColumnDefinition{
			nameColumn(),
			column("Holder", "string", coordinationv1.LeaseSpec{}.SwaggerDoc()["holderIdentity"]),
			ageColumn(),
		},
		func(l *coordinationv1.Lease, now time.Time) []interface{} {
			holder := ""
			if l.Spec.HolderIdentity != nil {
				holder = *l.Spec.HolderIdentity
			}
			return []interface{}{l.Name, holder, age(l.CreationTimestamp, now)}
		},
	)
}

func podDisruptionBudgetPrinter() *Printer {
	spec := policyv1.PodDisruptionBudgetSpec{}.SwaggerDoc()
	return printerOf(
		[]metav1.TableColumnDefinition{
			nameColumn(),
			column("Min Available", "string", spec["minAvailable"]),
			column("Max Unavailable", "string", spec["maxUnavailable"]),
			column("Allowed Disruptions", "integer", policyv1.PodDisruptionBudgetStatus{}.SwaggerDoc()["disruptionsAllowed"]),
			ageColumn(),
		},
		func(pdb *policyv1.PodDisruptionBudget, now time.Time) []interface{} {
			minAvailable, maxUnavailable := "N/A", "N/A"
			if pdb.Spec.MinAvailable != nil {
				minAvailable = pdb.Spec.MinAvailable.String()
			}
			if pdb.Spec.MaxUnavailable != nil {
				maxUnavailable = pdb.Spec.MaxUnavailable.String()
			}
			return []interface{}{
				pdb.Name, minAvailable, maxUnavailable, int64(pdb.Status.DisruptionsAllowed), age(pdb.CreationTimestamp, now),
			}
		},
	)
}

// RBAC bindings.

func bindingColumns(object string) []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		column("Role", "string", rbacv1.RoleBinding{}.SwaggerDoc()["roleRef"]),
		ageColumn(),
		wide(column("Users", "string", "Users the "+object+" grants the role to.")),
		wide(column("Groups", "string", "Groups the "+object+" grants the role to.")),
		wide(column("ServiceAccounts", "string", "Service accounts (namespace/name) the "+object+" grants the role to.")),
	}
}

func roleBindingPrinter() *Printer {
	return printerOf(bindingColumns("role binding"), func(b *rbacv1.RoleBinding, now time.Time) []interface{} {
		return bindingRow(b.Name, b.RoleRef, b.Subjects, b.CreationTimestamp, now)
	})
}

func clusterRoleBindingPrinter() *Printer {
	return printerOf(bindingColumns("cluster role binding"), func(b *rbacv1.ClusterRoleBinding, now time.Time) []interface{} {
		return bindingRow(b.Name, b.RoleRef, b.Subjects, b.CreationTimestamp, now)
	})
}

func bindingRow(name string, ref rbacv1.RoleRef, subjects []rbacv1.Subject, created metav1.Time, now time.Time) []interface{} {
	var users, groups, sas []string
	for _, s := range subjects {
		switch s.Kind {
		case rbacv1.UserKind:
			users = append(users, s.Name)
		case rbacv1.GroupKind:
			groups = append(groups, s.Name)
		case rbacv1.ServiceAccountKind:
			sas = append(sas, s.Namespace+"/"+s.Name)
		}
	}
	return []interface{}{
		name, ref.Kind + "/" + ref.Name, age(created, now),
		strings.Join(users, ", "), strings.Join(groups, ", "), strings.Join(sas, ", "),
	}
}

// Certificate signing requests.

func csrPrinter() *Printer {
	spec := certificatesv1.CertificateSigningRequestSpec{}.SwaggerDoc()
	return printerOf(
		[]metav1.TableColumnDefinition{
			nameColumn(),
			ageColumn(),
			column("SignerName", "string", spec["signerName"]),
			column("Requestor", "string", spec["username"]),
			column("RequestedDuration", "string", spec["expirationSeconds"]),
			column("Condition", "string", "Approved, Denied or Pending, then Failed and Issued when they apply."),
		},
		func(r *certificatesv1.CertificateSigningRequest, now time.Time) []interface{} {
			requested := "<none>"
			if r.Spec.ExpirationSeconds != nil {
				requested = duration.HumanDuration(csr.ExpirationSecondsToDuration(*r.Spec.ExpirationSeconds))
			}
			return []interface{}{
				r.Name, age(r.CreationTimestamp, now), orNone(r.Spec.SignerName), r.Spec.Username, requested, csrCondition(r),
			}
		},
	)
}

func csrCondition(r *certificatesv1.CertificateSigningRequest) string {
	var approved, denied, failed bool
	for _, c := range r.Status.Conditions {
		switch c.Type {
		case certificatesv1.CertificateApproved:
			approved = true
		case certificatesv1.CertificateDenied:
			denied = true
		case certificatesv1.CertificateFailed:
			failed = true
		}
	}
	var status string
	switch {
	case denied:
		status = "Denied"
	case approved:
		status = "Approved"
	default:
		status = "Pending"
	}
	if failed {
		status += ",Failed"
	}
	if len(r.Status.Certificate) > 0 {
		status += ",Issued"
	}
	return status
}

// Storage classes.

func storageClassPrinter() *Printer {
	doc := storagev1.StorageClass{}.SwaggerDoc()
	return printerOf(
		[]metav1.TableColumnDefinition{
			nameColumn(),
			column("Provisioner", "string", doc["provisioner"]),
			column("ReclaimPolicy", "string", doc["reclaimPolicy"]),
			column("VolumeBindingMode", "string", doc["volumeBindingMode"]),
			column("AllowVolumeExpansion", "string", doc["allowVolumeExpansion"]),
			ageColumn(),
		},
		func(sc *storagev1.StorageClass, now time.Time) []interface{} {
			name := sc.Name
			if storageutil.IsDefaultAnnotationText(sc.ObjectMeta) == "Yes" {
				name += " (default)"
			}
			reclaim := string(corev1.PersistentVolumeReclaimDelete)
			if sc.ReclaimPolicy != nil {
				reclaim = string(*sc.ReclaimPolicy)
			}
			binding := string(storagev1.VolumeBindingImmediate)
			if sc.VolumeBindingMode != nil {
				binding = string(*sc.VolumeBindingMode)
			}
			expansion := sc.AllowVolumeExpansion != nil && *sc.AllowVolumeExpansion
			return []interface{}{name, sc.Provisioner, reclaim, binding, expansion, age(sc.CreationTimestamp, now)}
		},
	)
}
