"""The Helm chart's templates, written verbatim by `bundle.helm` into
deploy/helm/kafka-vitals/templates/. One template per kind of object; everything that differs
between the layouts (names, labels, workload kind, the broker container, resources, the exporter
configuration) is in the chart's values, which `bundle.helm` reads from the kustomize sources.
"""

from __future__ import annotations

HELPERS = """\
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
"""

CONFIGMAP = """\
{{- include "kafka-vitals.validate" . }}
{{- $l := index .Values .Values.layout }}
# The exporter's configuration (every key: docs/config-reference.yaml).
apiVersion: v1
kind: ConfigMap
metadata:
  name: {{ $l.configMapName }}
  labels:
    {{- toYaml $l.labels | nindent 4 }}
data:
  config.yaml: |
    {{- toYaml $l.config | nindent 4 }}
"""

WORKLOAD = """\
{{- include "kafka-vitals.validate" . }}
{{- $v := .Values }}
{{- $l := index .Values .Values.layout }}
apiVersion: apps/v1
kind: {{ $l.kind }}
metadata:
  name: {{ $l.name }}
  labels:
    {{- toYaml $l.labels | nindent 4 }}
spec:
  replicas: {{ $l.replicas }}
  {{- with $l.workloadSpec }}
  {{- toYaml . | nindent 2 }}
  {{- end }}
  selector:
    matchLabels:
      {{- toYaml $l.selector | nindent 6 }}
  template:
    metadata:
      labels:
        {{- toYaml $l.podLabels | nindent 8 }}
      annotations:
        # A configuration change rolls the pods.
        checksum/config: {{ toYaml $l.config | sha256sum }}
    spec:
      {{- with $l.podSpec }}
      {{- toYaml . | nindent 6 }}
      {{- end }}
      containers:
        {{- with $l.containers }}
        {{- toYaml . | nindent 8 }}
        {{- end }}
        - name: kafka-vitals
          image: {{ printf "%s:%s" $v.image.repository (toString $v.image.tag) | quote }}
          {{- with $v.image.pullPolicy }}
          imagePullPolicy: {{ . }}
          {{- end }}
          args:
            {{- toYaml $v.args | nindent 12 }}
          {{- if or $l.env (eq $v.layout "sharded") $v.webConfig.enabled }}
          env:
            {{- with $l.env }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
            {{- if eq $v.layout "sharded" }}
            # The number of shards is the number of replicas.
            - name: KAFKA_VITALS_SHARD_COUNT
              value: {{ $l.replicas | quote }}
            {{- end }}
            {{- if $v.webConfig.enabled }}
            - name: KAFKA_VITALS_WEB_CONFIG_FILE
              value: /etc/kafka-vitals-web/web-config.yml
            {{- end }}
          {{- end }}
          ports:
            - name: kafka-vitals
              containerPort: {{ $v.port }}
              protocol: TCP
          livenessProbe:
            {{- toYaml $v.livenessProbe | nindent 12 }}
          readinessProbe:
            {{- toYaml $v.readinessProbe | nindent 12 }}
          resources:
            {{- toYaml $l.resources | nindent 12 }}
          securityContext:
            {{- toYaml $v.securityContext | nindent 12 }}
          volumeMounts:
            - name: kafka-vitals-config
              mountPath: /etc/kafka-vitals
              readOnly: true
            - name: kafka-vitals-tmp
              mountPath: /tmp
            {{- if $v.webConfig.enabled }}
            - name: kafka-vitals-web-config
              mountPath: /etc/kafka-vitals-web
              readOnly: true
            {{- end }}
      volumes:
        - name: kafka-vitals-config
          configMap:
            name: {{ $l.configMapName }}
        # The query JVMs' argument files live here: the root filesystem is read-only.
        - name: kafka-vitals-tmp
          emptyDir:
            {{- toYaml $v.tmpVolume | nindent 12 }}
        {{- if $v.webConfig.enabled }}
        - name: kafka-vitals-web-config
          secret:
            secretName: {{ include "kafka-vitals.webConfigSecret" . }}
        {{- end }}
  {{- with $l.volumeClaimTemplates }}
  volumeClaimTemplates:
    {{- toYaml . | nindent 4 }}
  {{- end }}
"""

SERVICES = """\
{{- include "kafka-vitals.validate" . }}
{{- $l := index .Values .Values.layout }}
{{- range $l.services }}
---
apiVersion: v1
kind: Service
metadata:
  name: {{ .name }}
  labels:
    {{- toYaml .labels | nindent 4 }}
spec:
  {{- toYaml .spec | nindent 2 }}
{{- end }}
"""

MONITOR = """\
{{- include "kafka-vitals.validate" . }}
{{- $v := .Values }}
{{- $l := index .Values .Values.layout }}
{{- if $v.monitor.enabled }}
{{- $pod := eq $v.monitor.kind "PodMonitor" }}
apiVersion: monitoring.coreos.com/v1
kind: {{ $v.monitor.kind }}
metadata:
  name: {{ $l.monitor.name }}
  labels:
    {{- toYaml $l.monitor.labels | nindent 4 }}
    {{- with $v.monitor.release }}
    # kube-prometheus-stack selects monitors by `release: <its Helm release>`.
    release: {{ . | quote }}
    {{- end }}
spec:
  selector:
    matchLabels:
      {{- toYaml (ternary $l.selector $l.monitor.selector $pod) | nindent 6 }}
  {{ ternary "podMetricsEndpoints" "endpoints" $pod }}:
    - port: kafka-vitals
      path: {{ $v.monitor.path }}
      interval: {{ $v.monitor.interval }}
      scrapeTimeout: {{ $v.monitor.scrapeTimeout }}
      {{- with $v.monitor.scheme }}
      scheme: {{ . }}
      {{- end }}
      {{- with $v.monitor.tlsConfig }}
      tlsConfig:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      {{- with $v.monitor.basicAuth }}
      basicAuth:
        {{- toYaml . | nindent 8 }}
      {{- end }}
      relabelings:
        # The shipped alert rules and dashboards select this job.
        - targetLabel: job
          replacement: {{ $v.monitor.job }}
{{- end }}
"""

RULE = """\
{{- if .Values.prometheusRule.enabled }}
apiVersion: monitoring.coreos.com/v1
kind: PrometheusRule
metadata:
  name: {{ .Values.prometheusRule.name }}
  labels:
    {{- toYaml .Values.prometheusRule.labels | nindent 4 }}
    {{- with .Values.monitor.release }}
    release: {{ . | quote }}
    {{- end }}
spec:
  {{- .Files.Get "files/rules.yaml" | nindent 2 }}
{{- end }}
"""

DASHBOARDS = """\
{{- if .Values.dashboards.enabled }}
{{ .Files.Get "files/dashboards.yaml" }}
{{- end }}
"""

WEB_CONFIG = """\
{{- if and .Values.webConfig.enabled (not .Values.webConfig.existingSecret) }}
# TLS and basic auth for /metrics (the Prometheus exporter-toolkit web config format).
apiVersion: v1
kind: Secret
metadata:
  name: {{ include "kafka-vitals.webConfigSecret" . }}
  labels:
    {{- toYaml (index .Values .Values.layout).labels | nindent 4 }}
type: Opaque
stringData:
  web-config.yml: |
    {{- $content := .Values.webConfig.content }}
    {{- required "values: webConfig.content (or existingSecret)" $content | nindent 4 }}
{{- end }}
"""

NOTES = """\
kafka-vitals ({{ .Values.layout }} layout) serves /metrics on port {{ .Values.port }}.
{{- if .Values.monitor.enabled }}
The {{ .Values.monitor.kind }} carries release={{ .Values.monitor.release }}: it must match your
Prometheus' monitor selector (kube-prometheus-stack: its own Helm release name), or nothing is
scraped and KafkaVitalsExporterAbsent fires.
{{- end }}
"""

TEMPLATES: dict[str, str] = {
    "_helpers.tpl": HELPERS,
    "configmap.yaml": CONFIGMAP,
    "workload.yaml": WORKLOAD,
    "services.yaml": SERVICES,
    "monitor.yaml": MONITOR,
    "prometheusrule.yaml": RULE,
    "dashboards.yaml": DASHBOARDS,
    "web-config-secret.yaml": WEB_CONFIG,
    "NOTES.txt": NOTES,
}
"""File name under templates/ -> text."""
