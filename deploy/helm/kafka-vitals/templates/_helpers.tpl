{{/* Fails the rendering on a layout the chart does not know. */}}
{{- define "kafka-vitals.validate" -}}
{{- if not (has .Values.layout (list "central" "broker" "sharded")) -}}
{{- fail (printf "values: layout must be central, broker or sharded, not %q" .Values.layout) -}}
{{- end -}}
{{- $kind := .Values.monitor.kind -}}
{{- if not (has $kind (list "ServiceMonitor" "PodMonitor")) -}}
{{- fail (printf "values: monitor.kind must be ServiceMonitor or PodMonitor, not %q" $kind) -}}
{{- end -}}
{{- end -}}

{{/* The web config Secret's name. */}}
{{- define "kafka-vitals.webConfigSecret" -}}
{{- $name := (index .Values .Values.layout).name -}}
{{- .Values.webConfig.existingSecret | default (printf "%s-web-config" $name) -}}
{{- end -}}
