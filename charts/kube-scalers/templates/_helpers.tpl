{{/* The chart name, or nameOverride. */}}
{{- define "kube-scalers.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* The objects' name: fullnameOverride, else the release name (with the chart's unless the
release name holds it already), 63 characters at most (a label value's limit). */}}
{{- define "kube-scalers.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "kube-scalers.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Selector labels: fixed for the life of a release (a Deployment's selector is immutable). */}}
{{- define "kube-scalers.selectorLabels" -}}
app.kubernetes.io/name: {{ include "kube-scalers.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "kube-scalers.labels" -}}
helm.sh/chart: {{ include "kube-scalers.chart" . }}
{{ include "kube-scalers.selectorLabels" . }}
app.kubernetes.io/version: {{ include "kube-scalers.tag" . | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "kube-scalers.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "kube-scalers.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- required "serviceAccount.name: the existing ServiceAccount to run as (serviceAccount.create is false)" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{- define "kube-scalers.tag" -}}
{{- default .Chart.AppVersion .Values.image.tag }}
{{- end }}

{{- define "kube-scalers.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (include "kube-scalers.tag" .) }}
{{- end }}
{{- end }}

{{/* The names of the targets of one kind ("statefulset"), from proportional.targets. */}}
{{- define "kube-scalers.targetNames" -}}
{{- $kind := .kind }}
{{- $names := list }}
{{- range .targets }}
{{- $parts := splitList "/" . }}
{{- if eq (first $parts) $kind }}
{{- $names = append $names (last $parts) }}
{{- end }}
{{- end }}
{{- toJson $names }}
{{- end }}

{{/* One namespaced workload kind of the proportional loop's targets: list/watch (by name: the
loop watches each target with a metadata.name field selector) and patch of its scale
subresource. `any` grants every name (rbac.scaleTargets). */}}
{{- define "kube-scalers.workloadRules" -}}
{{- $names := include "kube-scalers.targetNames" . | fromJsonArray }}
{{- if or .any $names }}
- apiGroups: ["apps"]
  resources: [{{ .resource | quote }}]
  {{- if not .any }}
  resourceNames: {{ toJson $names }}
  {{- end }}
  verbs: ["list", "watch"]
- apiGroups: ["apps"]
  resources: [{{ printf "%s/scale" .resource | quote }}]
  {{- if not .any }}
  resourceNames: {{ toJson $names }}
  {{- end }}
  verbs: ["patch"]
{{- end }}
{{- end }}

{{/* The namespaced rules, as {namespace: [rule, ...]}: the schedule loop's in the calendars'
namespace (their ConfigMap by name: the loop watches it with a metadata.name field selector),
the proportional loop's in its namespace (its ConfigMap by name; its targets, unless the
schedule loop's ClusterRole covers their kind), the Lease's in the lease namespace. One Role
for each namespace. */}}
{{- define "kube-scalers.namespacedRules" -}}
{{- $rules := dict }}
{{- $c := .Values.schedule.calendars }}
{{- if .Values.schedule.enabled }}
{{- $calendars := list
      (dict "apiGroups" (list "") "resources" (list "configmaps") "resourceNames" (list $c.configMap) "verbs" (list "list" "watch")) }}
{{- $_ := set $rules $c.namespace $calendars }}
{{- end }}
{{- $p := .Values.proportional }}
{{- if $p.enabled }}
{{- $own := list }}
{{- if not .Values.schedule.enabled }}
{{- $hpas := include "kube-scalers.targetNames" (dict "kind" "hpa" "targets" $p.targets) | fromJsonArray }}
{{- if $hpas }}
{{- $own = append $own (dict "apiGroups" (list "autoscaling") "resources" (list "horizontalpodautoscalers") "resourceNames" $hpas "verbs" (list "list" "watch" "patch")) }}
{{- end }}
{{- $own = concat $own (include "kube-scalers.workloadRules" (dict "kind" "deployment" "resource" "deployments" "targets" $p.targets "any" false) | fromYamlArray) }}
{{- end }}
{{- $own = concat $own (include "kube-scalers.workloadRules" (dict "kind" "statefulset" "resource" "statefulsets" "targets" $p.targets "any" .Values.rbac.scaleTargets.statefulsets) | fromYamlArray) }}
{{- $own = concat $own (include "kube-scalers.workloadRules" (dict "kind" "replicaset" "resource" "replicasets" "targets" $p.targets "any" .Values.rbac.scaleTargets.replicasets) | fromYamlArray) }}
{{- if not .Values.schedule.enabled }}
{{- $own = append $own (dict "apiGroups" (list "") "resources" (list "events") "verbs" (list "create" "patch")) }}
{{- end }}
{{- /* `create` cannot be restricted by name: the API server does not know it when it authorizes. */}}
{{- $own = concat (list
      (dict "apiGroups" (list "") "resources" (list "configmaps") "resourceNames" (list $p.configmap) "verbs" (list "list" "watch"))
      (dict "apiGroups" (list "") "resources" (list "configmaps") "verbs" (list "create"))) $own }}
{{- $_ := set $rules $p.namespace (concat (get $rules $p.namespace | default list) $own) }}
{{- end }}
{{- $l := .Values.leaderElection }}
{{- if $l.enabled }}
{{- $lease := list
      (dict "apiGroups" (list "coordination.k8s.io") "resources" (list "leases") "resourceNames" (list $l.leaseName) "verbs" (list "get" "patch"))
      (dict "apiGroups" (list "coordination.k8s.io") "resources" (list "leases") "verbs" (list "create")) }}
{{- $_ := set $rules $l.namespace (concat (get $rules $l.namespace | default list) $lease) }}
{{- end }}
{{- toJson $rules }}
{{- end }}

{{/* The default topologySpreadConstraints: one replica a node, zones where possible. */}}
{{- define "kube-scalers.topologySpreadConstraints" -}}
- maxSkew: 1
  topologyKey: kubernetes.io/hostname
  whenUnsatisfiable: DoNotSchedule
  nodeTaintsPolicy: Honor  # nodes it cannot run on do not count (a one-node cluster works)
  labelSelector:
    matchLabels:
      {{- include "kube-scalers.selectorLabels" . | nindent 6 }}
- maxSkew: 1
  topologyKey: topology.kubernetes.io/zone
  whenUnsatisfiable: ScheduleAnyway
  labelSelector:
    matchLabels:
      {{- include "kube-scalers.selectorLabels" . | nindent 6 }}
{{- end }}
