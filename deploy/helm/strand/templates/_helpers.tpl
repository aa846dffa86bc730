{{/* The name of everything: the release's fullname, at most 63 characters. */}}
{{- define "strand.fullname" -}}
{{- if contains .Chart.Name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}

{{/* The headless service that gives every pod a stable DNS name for peers. */}}
{{- define "strand.headless" -}}
{{- printf "%s-peers" (include "strand.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{/* Pod i's gossip address: <pod>.<headless>.<namespace>.svc.cluster.local:<gossip>. */}}
{{- define "strand.gossipAddr" -}}
{{- printf "%s-%d.%s.%s.svc.cluster.local:%d" (include "strand.fullname" .root) (int .index) (include "strand.headless" .root) .root.Release.Namespace (int .root.Values.ports.gossip) -}}
{{- end -}}

{{- define "strand.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
{{ include "strand.selectorLabels" . }}
{{- end -}}

{{- define "strand.selectorLabels" -}}
app.kubernetes.io/name: {{ .Chart.Name }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}
