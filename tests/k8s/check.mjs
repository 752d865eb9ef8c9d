#!/usr/bin/env node
// Offline checks of the Kubernetes deployment (run by tests/scripts/k8s/validate_manifests.sh).
//
//   node check.mjs builtin FILE...            every document is a known built-in (or Prometheus
//                                             operator) kind and validates with kubernetes-models
//   node check.mjs crs --crd CRD... -- FILE...  every mq.iotoperations.azure.com document validates
//                                             against its CRD's openAPIV3Schema (ajv, strict:
//                                             unknown fields are rejected, as the API server's
//                                             strict field validation does)
//   node check.mjs deploy RENDERED            invariants between the rendered kustomization and the
//                                             bridge configuration inside its ConfigMap
//   node check.mjs podfs RENDERED OUTDIR CERT KEY  lays out the container's mounts below OUTDIR and
//                                             prints its mqbridge path arguments moved there
//
// Exit status 0 when everything passes, 1 with one line per problem on stderr otherwise, 2 on usage
// errors. Every problem names file, document index, kind/name and the field path.

import fs from "node:fs";
import path from "node:path";
import yaml from "js-yaml";
import Ajv from "ajv";
import addFormats from "ajv-formats";

const problems = [];
const fail = (where, msg) => problems.push(`${where}: ${msg}`);

function loadDocs(file) {
  const text = fs.readFileSync(file, "utf8");
  let docs;
  try {
    docs = yaml.loadAll(text);
  } catch (e) {
    fail(file, `YAML error: ${e.message.split("\n")[0]}`);
    return [];
  }
  return docs
    .map((doc, index) => ({ doc, index, file }))
    .filter(({ doc }) => doc !== null && doc !== undefined);
}

const where = ({ file, index, doc }) =>
  `${file}#${index} ${doc?.kind ?? "?"}/${doc?.metadata?.name ?? "?"}`;

// ---------------------------------------------------------------------------------------------
// builtin: kubernetes-models

async function modelFor(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const candidates =
    group === "monitoring.coreos.com"
      ? [`@kubernetes-models/prometheus-operator/${group}/${version}/${kind}`]
      : [`kubernetes-models/${group ? `${group}/` : ""}${version}/${kind}`];
  for (const spec of candidates) {
    try {
      const mod = await import(spec);
      if (mod[kind]) return mod[kind];
    } catch {
      // not a known kind
    }
  }
  return null;
}

async function checkBuiltin(files) {
  let n = 0;
  for (const file of files) {
    for (const item of loadDocs(file)) {
      const { doc } = item;
      if (typeof doc.apiVersion !== "string" || typeof doc.kind !== "string") {
        fail(where(item), "missing apiVersion or kind");
        continue;
      }
      const Model = await modelFor(doc.apiVersion, doc.kind);
      if (!Model) {
        fail(where(item), `unknown built-in kind ${doc.apiVersion} ${doc.kind}`);
        continue;
      }
      try {
        new Model(doc).validate();
        n++;
      } catch (e) {
        fail(where(item), e.message.replace(/\s+/g, " "));
      }
    }
  }
  return `builtin: ${n} objects valid`;
}

// ---------------------------------------------------------------------------------------------
// crs: ajv against the CRDs' openAPIV3Schema

// Fields of ObjectMeta a client may set; the API server validates metadata itself, whatever the
// CRD says about it.
const objectMetaSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    name: { type: "string" },
    generateName: { type: "string" },
    namespace: { type: "string" },
    labels: { type: "object", additionalProperties: { type: "string" } },
    annotations: { type: "object", additionalProperties: { type: "string" } },
    finalizers: { type: "array", items: { type: "string" } },
    ownerReferences: { type: "array", items: { type: "object" } },
    uid: { type: "string" },
    resourceVersion: { type: "string" },
    generation: { type: "integer" },
    creationTimestamp: {},
    deletionTimestamp: {},
    deletionGracePeriodSeconds: { type: "integer" },
    managedFields: { type: "array" },
  },
};

// Turns a structural openAPIV3Schema into a JSON schema with the API server's semantics for field
// validation: objects accept only declared properties (unknown fields are errors under
// `--validate=strict` and are pruned otherwise) unless x-kubernetes-preserve-unknown-fields.
let celRules = 0;
function toAjv(s, isRoot = false) {
  if (Array.isArray(s)) return s.map((x) => toAjv(x));
  if (s === null || typeof s !== "object") return s;
  const out = {};
  for (const [k, v] of Object.entries(s)) {
    if (k === "properties" || k === "patternProperties" || k === "definitions") {
      out[k] = Object.fromEntries(Object.entries(v).map(([pk, pv]) => [pk, toAjv(pv)]));
    } else if (k === "x-kubernetes-validations") {
      celRules += v.length; // CEL: not evaluated offline (reported)
    } else if (k === "nullable" || k.startsWith("x-kubernetes-")) {
      // handled below
    } else if (typeof v === "object") {
      out[k] = toAjv(v);
    } else {
      out[k] = v;
    }
  }
  if (s["x-kubernetes-int-or-string"]) {
    delete out.type;
    out.anyOf = [{ type: "integer" }, { type: "string" }];
  }
  if (s.nullable === true && typeof out.type === "string") out.type = [out.type, "null"];
  // OpenAPI 3.0 (what Kubernetes uses): exclusiveMinimum/Maximum are booleans qualifying
  // minimum/maximum; JSON Schema draft-07 (ajv) wants the bound itself.
  for (const [ex, bound] of [["exclusiveMinimum", "minimum"], ["exclusiveMaximum", "maximum"]]) {
    if (typeof out[ex] === "boolean") {
      if (out[ex] && out[bound] !== undefined) {
        out[ex] = out[bound];
        delete out[bound];
      } else {
        delete out[ex];
      }
    }
  }
  const preserve = s["x-kubernetes-preserve-unknown-fields"] === true;
  if (out.type === "object" && out.additionalProperties === undefined && !preserve) {
    out.additionalProperties = false;
  }
  if (isRoot) {
    out.properties = { ...(out.properties ?? {}), metadata: objectMetaSchema };
    out.required = [...new Set([...(out.required ?? []), "apiVersion", "kind", "metadata"])];
  }
  return out;
}

function loadCrds(files, ajv) {
  const validators = new Map(); // "group/version Kind" -> validate function
  for (const file of files) {
    for (const item of loadDocs(file)) {
      const { doc } = item;
      if (doc.kind !== "CustomResourceDefinition") {
        fail(where(item), "not a CustomResourceDefinition");
        continue;
      }
      for (const v of doc.spec?.versions ?? []) {
        const schema = v.schema?.openAPIV3Schema;
        if (!schema) {
          fail(where(item), `version ${v.name} has no openAPIV3Schema`);
          continue;
        }
        try {
          const key = `${doc.spec.group}/${v.name} ${doc.spec.names.kind}`;
          validators.set(key, ajv.compile(toAjv(schema, true)));
        } catch (e) {
          fail(where(item), `openAPIV3Schema of ${v.name} does not compile: ${e.message}`);
        }
      }
    }
  }
  return validators;
}

// The spec's examples are partly fragments: `spec:` snippets of a connector or topic map, and bare
// `routes:` lists. Each is merged into the first complete resource of its kind among the files
// (the spec's own complete examples), as tests/unit/config/spec_examples_test.cc does: a `spec:`
// fragment key by key (an `authentication` mapping replaces the base's: one method only), a
// `routes:` list replacing the topic map's routes.
function mergeInto(base, fragment) {
  for (const [k, v] of Object.entries(fragment)) {
    const isMap = (x) => x !== null && typeof x === "object" && !Array.isArray(x);
    if (isMap(v) && isMap(base[k]) && k !== "authentication") mergeInto(base[k], v);
    else base[k] = structuredClone(v);
  }
}

function completeFragments(items) {
  const isCr = (d) => typeof d?.apiVersion === "string" &&
    d.apiVersion.startsWith("mq.iotoperations.azure.com/");
  const dir = (i) => path.dirname(i.file);
  const base = (kind, near) => {
    const cands = items.filter((i) => isCr(i.doc) && i.doc.kind === kind);
    return (cands.find((i) => dir(i) === dir(near)) ?? cands[0])?.doc;
  };
  const out = [];
  let merged = 0;
  let other = 0;
  for (const item of items) {
    const { doc } = item;
    if (isCr(doc)) {
      out.push(item);
      continue;
    }
    const isMap = doc !== null && typeof doc === "object" && !Array.isArray(doc);
    const routesOnly = isMap && Object.keys(doc).length === 1 && Array.isArray(doc.routes);
    const specOnly = isMap && Object.keys(doc).length === 1 && typeof doc.spec === "object";
    const topicMapSpec = specOnly && ("routes" in doc.spec || "mqttBridgeConnectorRef" in doc.spec);
    const kind = routesOnly || topicMapSpec ? "MqttBridgeTopicMap" : "MqttBridgeConnector";
    const b = (routesOnly || specOnly) && base(kind, item);
    if (!b) {
      other++;
      continue;
    }
    const full = structuredClone(b);
    if (routesOnly) full.spec.routes = structuredClone(doc.routes);
    else mergeInto(full.spec, doc.spec);
    out.push({ ...item, doc: full, file: `${item.file} (fragment merged into ${kind}/${b.metadata?.name})` });
    merged++;
  }
  return { items: out, merged, other };
}

function checkCrs(crdFiles, files) {
  const ajv = new Ajv({ strict: true, allErrors: true, allowUnionTypes: true });
  addFormats(ajv);
  const validators = loadCrds(crdFiles, ajv);
  if (validators.size === 0) fail("crs", "no CRD schema loaded");
  let n = 0;
  let skipped = 0;
  const all = completeFragments(files.flatMap((file) => loadDocs(file)));
  {
    for (const item of all.items) {
      const { doc } = item;
      const apiVersion = doc?.apiVersion;
      if (typeof apiVersion !== "string" || !apiVersion.startsWith("mq.iotoperations.azure.com/")) {
        skipped++;
        continue;
      }
      const validate = validators.get(`${apiVersion} ${doc.kind}`);
      if (!validate) {
        fail(where(item), `no CRD serves ${apiVersion} ${doc.kind}`);
        continue;
      }
      if (validate(doc)) {
        n++;
        continue;
      }
      for (const e of validate.errors) {
        const field =
          e.keyword === "additionalProperties"
            ? `${e.instancePath}/${e.params.additionalProperty}`
            : e.instancePath || "/";
        const what =
          e.keyword === "additionalProperties" ? "unknown field" : e.message ?? e.keyword;
        const allowed = e.params?.allowedValues ? ` (${e.params.allowedValues.join(", ")})` : "";
        fail(where(item), `${field}: ${what}${allowed}`);
      }
    }
  }
  const cel = celRules ? `; ${celRules} CEL rules (x-kubernetes-validations) not evaluated` : "";
  return `crs: ${n} custom resources valid against ${validators.size} CRD schemas ` +
    `(${all.merged} of them spec fragments merged into a complete resource; ` +
    `${skipped + all.other} other documents skipped${cel})`;
}

// ---------------------------------------------------------------------------------------------
// deploy: invariants between the manifests and the bridge configuration

const cliDefaults = {
  "metrics-address": "0.0.0.0:9400",
  "state-dir": "/var/lib/mqbridge",
  "secrets-dir": "/var/run/secrets/mqbridge",
  "configmaps-dir": "/var/run/configmaps",
  "sa-token-file": "/var/run/secrets/tokens/mq-sat",
  "drain-seconds": "10",
};

function parseArgs(args) {
  const opts = { config: [] };
  for (let i = 0; i < args.length; i++) {
    const m = /^--?([a-z-]+)(?:=(.*))?$/.exec(args[i]);
    if (!m) continue;
    let name = m[1] === "c" ? "config" : m[1];
    const value = m[2] ?? args[++i];
    if (name === "config") opts.config.push(value);
    else opts[name] = value;
  }
  return { ...cliDefaults, ...opts };
}

function mountFor(container, volumes, file) {
  // The deepest mount containing `file`, with its volume.
  let best = null;
  for (const vm of container.volumeMounts ?? []) {
    const dir = vm.mountPath.replace(/\/$/, "");
    if ((file === dir || file.startsWith(`${dir}/`)) && (!best || dir.length > best.dir.length)) {
      best = { dir, vm, volume: volumes.find((v) => v.name === vm.name) };
    }
  }
  return best;
}

function checkDeploy(file) {
  const items = loadDocs(file);
  const byKind = (kind) => items.filter((i) => i.doc.kind === kind);
  const one = (kind) => {
    const all = byKind(kind);
    if (all.length !== 1) fail(file, `expected exactly one ${kind}, found ${all.length}`);
    return all[0];
  };
  const sts = one("StatefulSet");
  if (!sts) return "deploy: no StatefulSet";
  const at = where(sts);
  const stsSpec = sts.doc.spec;
  const pod = stsSpec.template.spec;
  const c = pod.containers.find((x) => x.name === "mqbridge") ?? pod.containers[0];
  const volumes = pod.volumes ?? [];
  const args = parseArgs([...(c.command ?? []).slice(2), ...(c.args ?? [])]);

  // Namespace: one, shared by every namespaced object and by the bridge resources.
  const nsObjects = byKind("Namespace");
  const namespace = sts.doc.metadata.namespace;
  if (!namespace) fail(at, "no metadata.namespace");
  for (const i of items) {
    if (["Namespace", "CustomResourceDefinition"].includes(i.doc.kind)) continue;
    if (i.doc.metadata?.namespace !== namespace) fail(where(i), `namespace is not ${namespace}`);
  }
  if (nsObjects.length && nsObjects[0].doc.metadata.name !== namespace) {
    fail(where(nsObjects[0]), `Namespace object is not ${namespace}`);
  }

  // The bridge configuration: the ConfigMap mounted at --config.
  if (args.config.length === 0) fail(at, "no --config argument");
  const bridgeDocs = [];
  for (const cfg of args.config) {
    const m = mountFor(c, volumes, cfg);
    const cmName = m?.volume?.configMap?.name;
    if (!cmName) {
      fail(at, `--config ${cfg} is not on a ConfigMap volume`);
      continue;
    }
    const cm = items.find((i) => i.doc.kind === "ConfigMap" && i.doc.metadata.name === cmName);
    if (!cm) {
      fail(at, `ConfigMap ${cmName} (mounted for --config ${cfg}) is not in the kustomization`);
      continue;
    }
    for (const [key, text] of Object.entries(cm.doc.data ?? {})) {
      yaml.loadAll(text).forEach((doc, index) => {
        if (doc) bridgeDocs.push({ doc, index, file: `${where(cm)} data.${key}` });
      });
    }
  }
  const connectors = bridgeDocs.filter((i) => i.doc.kind === "MqttBridgeConnector");
  const topicMaps = bridgeDocs.filter((i) => i.doc.kind === "MqttBridgeTopicMap");
  if (connectors.length !== 1) {
    fail(at, `the mounted configuration must hold exactly one MqttBridgeConnector (found ` +
      `${connectors.length})`);
  }
  if (topicMaps.length === 0) fail(at, "the mounted configuration holds no MqttBridgeTopicMap");
  for (const i of bridgeDocs) {
    const ns = i.doc.metadata?.namespace;
    if (ns !== undefined && ns !== namespace) {
      fail(where(i), `metadata.namespace ${ns} differs from the deployment's ${namespace}`);
    }
  }
  const connector = connectors[0]?.doc;
  if (connector) {
    const cs = connector.spec ?? {};
    const instances = cs.bridgeInstances ?? 1;
    if (stsSpec.replicas !== instances) {
      fail(at, `spec.replicas ${stsSpec.replicas} != connector spec.bridgeInstances ${instances}`);
    }
    const img = cs.image ?? {};
    const want = `${img.repository}:${img.tag}`;
    if (c.image !== want) fail(at, `container image ${c.image} != connector spec.image ${want}`);
    const policy = img.pullPolicy ?? "IfNotPresent";
    if (c.imagePullPolicy !== policy) {
      fail(at, `imagePullPolicy ${c.imagePullPolicy} != connector spec.image.pullPolicy ${policy}`);
    }
    for (const [conn, connSpec] of Object.entries({
      remoteBrokerConnection: cs.remoteBrokerConnection,
      localBrokerConnection: cs.localBrokerConnection,
    })) {
      const secret = connSpec?.authentication?.x509?.secretName;
      if (secret) {
        const m = mountFor(c, volumes, `${args["secrets-dir"]}/${secret}/client_cert.pem`);
        if (m?.volume?.secret?.secretName !== secret || m.dir !== `${args["secrets-dir"]}/${secret}`) {
          fail(at, `${conn} x509 Secret ${secret} is not mounted at ${args["secrets-dir"]}/${secret}`);
        }
      }
      const ca = connSpec?.tls?.trustedCaCertificateConfigMap;
      if (ca) {
        const m = mountFor(c, volumes, `${args["configmaps-dir"]}/${ca}/ca.crt`);
        if (m?.volume?.configMap?.name !== ca || m.dir !== `${args["configmaps-dir"]}/${ca}`) {
          fail(at, `${conn} CA ConfigMap ${ca} is not mounted at ${args["configmaps-dir"]}/${ca}`);
        }
      }
      if (connSpec?.authentication?.kubernetes) {
        const m = mountFor(c, volumes, args["sa-token-file"]);
        const src = (m?.volume?.projected?.sources ?? []).find((s) => s.serviceAccountToken);
        const rel = m ? args["sa-token-file"].slice(m.dir.length + 1) : "";
        if (!src || src.serviceAccountToken.audience !== "aio-mq" ||
            src.serviceAccountToken.path !== rel) {
          fail(at, `${conn} uses SAT but ${args["sa-token-file"]} is not a projected service ` +
            `account token with audience aio-mq`);
        }
      }
    }
  }

  // Spool on the volumeClaimTemplate.
  const spool = mountFor(c, volumes, `${args["state-dir"]}/x`);
  const claims = (stsSpec.volumeClaimTemplates ?? []).map((t) => t.metadata.name);
  if (!spool || spool.dir !== args["state-dir"] || !claims.includes(spool.vm.name)) {
    fail(at, `--state-dir ${args["state-dir"]} is not a volumeClaimTemplate mount`);
  }

  // Drain deadline vs grace period.
  const grace = pod.terminationGracePeriodSeconds ?? 30;
  const drain = Number(args["drain-seconds"]);
  if (!(grace >= drain + 5)) {
    fail(at, `terminationGracePeriodSeconds ${grace} is not at least --drain-seconds ${drain} + 5`);
  }

  // Probes on the metrics port.
  const metricsPort = Number(args["metrics-address"].split(":").pop());
  const port = (c.ports ?? []).find((p) => p.containerPort === metricsPort);
  if (!port) fail(at, `no containerPort ${metricsPort} (--metrics-address)`);
  for (const [probe, p] of [["livenessProbe", "/healthz"], ["readinessProbe", "/readyz"]]) {
    const g = c[probe]?.httpGet;
    const portOk = g && (g.port === metricsPort || (port && g.port === port.name));
    if (!g || g.path !== p || !portOk) fail(at, `${probe} is not GET ${p} on the metrics port`);
  }

  // Resources and security.
  for (const k of ["requests", "limits"]) {
    if (!c.resources?.[k]?.cpu || !c.resources?.[k]?.memory) fail(at, `no resources.${k} cpu/memory`);
  }
  const sc = c.securityContext ?? {};
  if (sc.runAsNonRoot !== true && pod.securityContext?.runAsNonRoot !== true) {
    fail(at, "runAsNonRoot is not true");
  }
  if (sc.readOnlyRootFilesystem !== true) fail(at, "readOnlyRootFilesystem is not true");
  if (sc.allowPrivilegeEscalation !== false) fail(at, "allowPrivilegeEscalation is not false");
  if (!(sc.capabilities?.drop ?? []).includes("ALL")) fail(at, "capabilities do not drop ALL");

  // Services and ServiceMonitor.
  const services = byKind("Service");
  const headless = services.find((s) => s.doc.metadata.name === stsSpec.serviceName);
  if (!headless || headless.doc.spec.clusterIP !== "None") {
    fail(at, `serviceName ${stsSpec.serviceName} is not a headless Service`);
  }
  const podLabels = stsSpec.template.metadata.labels ?? {};
  const selects = (sel) => Object.entries(sel ?? {}).every(([k, v]) => podLabels[k] === v);
  const metricsSvc = services.find((s) => s.doc.metadata.annotations?.["prometheus.io/scrape"]);
  if (!metricsSvc) {
    fail(file, "no Service with prometheus.io/scrape");
  } else {
    const a = metricsSvc.doc.metadata.annotations;
    const sp = metricsSvc.doc.spec.ports.find((p) => p.targetPort === metricsPort ||
      (port && p.targetPort === port.name));
    if (a["prometheus.io/scrape"] !== "true" || a["prometheus.io/path"] !== "/metrics" ||
        Number(a["prometheus.io/port"]) !== sp?.port) {
      fail(where(metricsSvc), "prometheus.io annotations do not name the metrics port and /metrics");
    }
    if (!selects(metricsSvc.doc.spec.selector)) fail(where(metricsSvc), "selector misses the pods");
    const sm = one("ServiceMonitor");
    if (sm) {
      const labels = metricsSvc.doc.metadata.labels ?? {};
      const sel = sm.doc.spec.selector?.matchLabels ?? {};
      const matches = Object.entries(sel).every(([k, v]) => labels[k] === v);
      const smPort = sm.doc.spec.endpoints?.[0]?.port;
      if (!matches || !metricsSvc.doc.spec.ports.some((p) => p.name === smPort)) {
        fail(where(sm), "does not select the metrics Service and its port by name");
      }
    }
  }
  if (!selects(stsSpec.selector.matchLabels)) fail(at, "selector does not match the pod labels");

  // RBAC for the service account the pod runs as.
  const sa = pod.serviceAccountName;
  if (!byKind("ServiceAccount").some((i) => i.doc.metadata.name === sa)) {
    fail(at, `ServiceAccount ${sa} is not in the kustomization`);
  }
  const binding = byKind("RoleBinding").find((b) =>
    (b.doc.subjects ?? []).some((s) => s.kind === "ServiceAccount" && s.name === sa));
  const role = binding && byKind("Role").find((r) => r.doc.metadata.name === binding.doc.roleRef.name);
  if (!role) {
    fail(at, `no Role bound to ServiceAccount ${sa}`);
  } else {
    const allows = (group, resource, verb) => role.doc.rules.some((r) =>
      r.apiGroups.includes(group) && r.resources.includes(resource) && r.verbs.includes(verb));
    const need = [];
    for (const res of ["mqttbridgeconnectors", "mqttbridgetopicmaps"]) {
      for (const v of ["get", "list", "watch"]) need.push(["mq.iotoperations.azure.com", res, v]);
      need.push(["mq.iotoperations.azure.com", `${res}/status`, "update"]);
    }
    need.push(["", "events", "create"], ["", "events", "patch"]);
    for (const [g, r, v] of need) {
      if (!allows(g, r, v)) fail(where(role), `does not allow ${v} on ${r} (group "${g}")`);
    }
  }
  return `deploy: invariants hold (replicas=${stsSpec.replicas}, image=${c.image}, ` +
    `grace=${grace}s > drain=${drain}s)`;
}

// ---------------------------------------------------------------------------------------------
// podfs: what the container sees under its mounts, laid out below OUTDIR, so that the real binary
// (`mqbridge validate --check-files`) can check the configuration where the pod would read it.
// ConfigMaps of the kustomization get their data; other ConfigMaps (CA bundles) get ca.crt = CERT;
// Secrets get every key the bridge may read (x509 and username/password); projected service
// account tokens get a dummy token. Prints the container's mqbridge arguments with every path
// moved below OUTDIR, one per line.

function podfs(file, outDir, certFile, keyFile) {
  const items = loadDocs(file);
  const sts = items.find((i) => i.doc.kind === "StatefulSet");
  if (!sts) {
    fail(file, "no StatefulSet");
    return null;
  }
  const pod = sts.doc.spec.template.spec;
  const c = pod.containers.find((x) => x.name === "mqbridge") ?? pod.containers[0];
  const cert = fs.readFileSync(certFile, "utf8");
  const key = fs.readFileSync(keyFile, "utf8");
  const write = (dir, name, text) => {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, name), text);
  };
  for (const vm of c.volumeMounts ?? []) {
    const v = (pod.volumes ?? []).find((x) => x.name === vm.name);
    const dir = path.join(outDir, vm.mountPath);
    fs.mkdirSync(dir, { recursive: true });
    if (v?.configMap) {
      const cm = items.find((i) => i.doc.kind === "ConfigMap" && i.doc.metadata.name === v.configMap.name);
      if (cm) {
        for (const [k, text] of Object.entries(cm.doc.data ?? {})) write(dir, k, text);
      } else {
        write(dir, "ca.crt", cert);
      }
    } else if (v?.secret) {
      write(dir, "client_cert.pem", cert);
      write(dir, "client_key.pem", key);
      write(dir, "client_intermediate_certs.pem", cert);
      write(dir, "username", "bridge");
      write(dir, "password", "bridge-password");
    } else if (v?.projected) {
      for (const s of v.projected.sources ?? []) {
        if (s.serviceAccountToken) write(dir, s.serviceAccountToken.path, "offline.test.token");
      }
    }
  }
  const pathOpts = new Set(["config", "c", "state-dir", "secrets-dir", "configmaps-dir", "sa-token-file"]);
  const out = [];
  const args = c.args ?? [];
  for (let i = 0; i < args.length; i++) {
    const m = /^--?([a-z-]+)(?:=(.*))?$/.exec(args[i]);
    if (!m || !pathOpts.has(m[1])) continue;
    const value = m[2] ?? args[++i];
    if (m[1] === "state-dir") continue; // not a validate option
    out.push(`--${m[1] === "c" ? "config" : m[1]}=${path.join(outDir, value)}`);
  }
  // Options the container leaves at their defaults are moved too.
  for (const [name, value] of Object.entries(cliDefaults)) {
    if (["secrets-dir", "configmaps-dir", "sa-token-file"].includes(name) &&
        !out.some((a) => a.startsWith(`--${name}=`))) {
      out.push(`--${name}=${path.join(outDir, value)}`);
    }
  }
  return out.join("\n");
}

// ---------------------------------------------------------------------------------------------

const [cmd, ...rest] = process.argv.slice(2);
let summary;
if (cmd === "builtin" && rest.length) {
  summary = await checkBuiltin(rest);
} else if (cmd === "crs" && rest[0] === "--crd" && rest.includes("--")) {
  const sep = rest.indexOf("--");
  summary = checkCrs(rest.slice(1, sep), rest.slice(sep + 1));
} else if (cmd === "deploy" && rest.length === 1) {
  summary = checkDeploy(rest[0]);
} else if (cmd === "podfs" && rest.length === 4) {
  const args = podfs(...rest);
  if (args !== null && problems.length === 0) {
    console.log(args);
    process.exit(0);
  }
} else {
  console.error("usage: check.mjs builtin FILE... | crs --crd CRD... -- FILE... | deploy RENDERED" +
    " | podfs RENDERED OUTDIR CERT KEY");
  process.exit(2);
}
if (problems.length) {
  for (const p of problems) console.error(`FAIL ${p}`);
  console.error(`${problems.length} problem(s)`);
  process.exit(1);
}
console.log(`ok ${summary}`);
