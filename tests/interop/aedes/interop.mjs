// Interoperability of mqbridge with Aedes, an MQTT 3.1.1 broker of another make.
//
// Usage: node interop.mjs <build-dir>
//
// Local side: mosquitto. Remote side: Aedes (broker.mjs). The bridge (`<build-dir>/mqbridge run`,
// connector `protocol: v3`) joins them; MQTT.js clients, an implementation independent of the
// bridge and of both brokers, publish and subscribe on both sides. Checks, each printed as
// PASS/FAIL (INFO lines are observations, not checks):
//   1. QoS 1 both ways: every message arrives at QoS 1; duplicates are counted and reported;
//   2. QoS 0 both ways: every message arrives (nothing is under load);
//   3. retained: a retained message the bridge picks up keeps its flag on the other side (a late
//      subscriber there receives it as retained), both ways;
//   4. wildcard routes (`plant/+/temp`, `fleet/#`) forward matching topics and no others;
//   5. Aedes killed (SIGKILL) and restarted on the same port: every QoS 1 message published on
//      the local side during the outage reaches a subscriber on the restarted Aedes, the bridge
//      reconnects and subscribes again (remote -> local works again).
// Check 3 runs first: its retained messages must exist before the bridge subscribes.
// Exit 0 only if every check passed. Every process and the temporary directory are removed on
// exit, failure, SIGINT and SIGTERM (MQB_KEEP_TEST_DIRS=1 keeps the directory). Only 127.0.0.1.
// The whole run is bounded by DEADLINE_MS.
import { spawn } from 'node:child_process'
import fs from 'node:fs'
import net from 'node:net'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import mqtt from 'mqtt'

const HERE = path.dirname(fileURLToPath(import.meta.url))
const DEADLINE_MS = 55000
const Q1_COUNT = 500
const Q0_COUNT = 50
const OUTAGE_COUNT = 200
const AFTER_COUNT = 50
const CONNECTOR = 'aedes-interop'

if (process.argv.length !== 3) {
  process.stderr.write('usage: node interop.mjs <build-dir>\n')
  process.exit(2)
}
const bin = path.resolve(process.argv[2], 'mqbridge')
if (!fs.existsSync(bin)) {
  console.log(`FAIL no mqbridge binary at ${bin}`)
  process.exit(1)
}

const started = Date.now()
const elapsed = () => `${((Date.now() - started) / 1000).toFixed(1)} s`
const work = fs.mkdtempSync(path.join(os.tmpdir(), 'mqb-interop-aedes-'))
const children = new Set()
const clients = new Set()
let failures = 0
let passes = 0

function pass (msg) { passes++; console.log(`PASS ${msg}`) }
function fail (msg) { failures++; console.log(`FAIL ${msg}`) }
function info (msg) { console.log(`INFO ${msg}`) }
function check (ok, msg) { if (ok) pass(msg); else fail(msg); return ok }

// --- processes --------------------------------------------------------------------------------

// A child process with stdout+stderr appended to `logFile` and kept as lines for waitLine().
class Child {
  constructor (name, cmd, args, logFile) {
    this.name = name
    this.logFile = logFile
    this.lines = []
    this.log = fs.openSync(logFile, 'a')
    this.proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    this.exit = new Promise((resolve) => {
      const ended = (status) => {
        if (this.status !== undefined) return
        this.status = status
        children.delete(this)
        resolve(status)
      }
      this.proc.on('exit', (code, signal) => ended(signal ? `signal ${signal}` : `exit ${code}`))
      this.proc.on('error', (err) => ended(`not started: ${err.message}`))
    })
    let partial = ''
    const onData = (buf) => {
      fs.writeSync(this.log, buf)
      const text = partial + buf.toString()
      const parts = text.split('\n')
      partial = parts.pop()
      this.lines.push(...parts)
    }
    this.proc.stdout.on('data', onData)
    this.proc.stderr.on('data', onData)
    children.add(this)
  }

  get running () { return this.status === undefined }

  // The first captured line matching `re` from index `from` on; null after `ms` or an exit.
  async waitLine (re, ms, from = 0) {
    let found = null
    await waitFor(() => {
      for (let i = from; i < this.lines.length && !found; i++) {
        const m = re.exec(this.lines[i])
        if (m) found = m
      }
      return found !== null || !this.running
    }, ms)
    return found
  }

  kill (signal) { if (this.running) this.proc.kill(signal) }

  // SIGTERM, then SIGKILL after `ms`; resolves to the exit status.
  async stop (ms = 5000) {
    if (!this.running) return this.status
    this.kill('SIGTERM')
    const t = setTimeout(() => this.kill('SIGKILL'), ms)
    const status = await this.exit
    clearTimeout(t)
    return status
  }
}

function sleepMs (ms) { return new Promise((resolve) => setTimeout(resolve, ms)) }

// Polls `pred` every 20 ms until it holds or `ms` pass; returns whether it held.
async function waitFor (pred, ms) {
  const end = Date.now() + ms
  for (;;) {
    if (await pred()) return true
    if (Date.now() >= end) return false
    await sleepMs(20)
  }
}

function freePort () {
  return new Promise((resolve, reject) => {
    const s = net.createServer()
    s.on('error', reject)
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address()
      s.close(() => resolve(port))
    })
  })
}

function accepts (port) {
  return new Promise((resolve) => {
    const sock = net.connect(port, '127.0.0.1')
    sock.once('connect', () => { sock.destroy(); resolve(true) })
    sock.once('error', () => resolve(false))
  })
}

async function httpGet (url) {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(2000) })
    return { status: res.status, body: await res.text() }
  } catch (err) {
    return { status: 0, body: err.message }
  }
}

// --- brokers and bridge -------------------------------------------------------------------------

async function startMosquitto () {
  const port = await freePort()
  const dir = path.join(work, 'mosquitto')
  fs.mkdirSync(dir)
  const conf = path.join(dir, 'mosquitto.conf')
  fs.writeFileSync(conf, [
    `listener ${port} 127.0.0.1`,
    'allow_anonymous true',
    'max_queued_messages 0',
    'persistence false',
    'log_dest stdout',
    'log_type error', 'log_type warning', 'log_type notice', 'log_type information',
    'connection_messages true',
    ''
  ].join('\n'))
  const child = new Child('mosquitto', 'mosquitto', ['-c', conf], path.join(work, 'mosquitto.log'))
  const up = await waitFor(async () => !child.running || await accepts(port), 5000)
  if (!up || !child.running) {
    throw new Error(`mosquitto did not start (${child.status ?? 'no listener in 5 s'}):\n` +
      child.lines.slice(-10).join('\n'))
  }
  return { child, port }
}

// Aedes on `port` (0: a free one); resolves once it prints `listening <port>`.
async function startAedes (port, holdFor) {
  const args = [path.join(HERE, 'broker.mjs'), String(port)]
  if (holdFor) args.push('--hold-until-subscribed', holdFor)
  const child = new Child('aedes', process.execPath, args, path.join(work, 'aedes.log'))
  const m = await child.waitLine(/^listening (\d+)$/, 5000)
  if (!m) {
    throw new Error(`aedes did not start (${child.status ?? 'no listening line in 5 s'}):\n` +
      child.lines.slice(-10).join('\n'))
  }
  return { child, port: Number(m[1]), startedAt: Date.now() }
}

const ROUTES = [
  // name, direction, qos, source
  ['l2r-q1', 'local-to-remote', 1, 'up/q1'],
  ['r2l-q1', 'remote-to-local', 1, 'down/q1'],
  ['l2r-q0', 'local-to-remote', 0, 'up/q0'],
  ['r2l-q0', 'remote-to-local', 0, 'down/q0'],
  ['l2r-ret', 'local-to-remote', 1, 'up/ret/#'],
  ['r2l-ret', 'remote-to-local', 1, 'down/ret/#'],
  ['l2r-wild', 'local-to-remote', 1, 'plant/+/temp'],
  ['r2l-wild', 'remote-to-local', 1, 'fleet/#'],
  ['l2r-out', 'local-to-remote', 1, 'up/outage']
]

function bridgeYaml (localPort, remotePort) {
  const conn = (key, port) => [
    `  ${key}:`,
    `    endpoint: 127.0.0.1:${port}`,
    '    tls:',
    '      tlsEnabled: false',
    '    authentication:',
    '      anonymous: {}'
  ]
  const routes = ROUTES.flatMap(([name, direction, qos, source]) => [
    `    - name: ${name}`,
    `      direction: ${direction}`,
    `      qos: ${qos}`,
    `      source: "${source}"`
  ])
  return [
    'apiVersion: mq.iotoperations.azure.com/v1beta1',
    'kind: MqttBridgeConnector',
    'metadata:',
    `  name: ${CONNECTOR}`,
    'spec:',
    '  image:',
    '    repository: mcr.microsoft.com/azureiotoperations/mqttbridge',
    '    tag: 0.1.0-preview',
    '  protocol: v3',
    '  bridgeInstances: 1',
    '  clientIdPrefix: ia-',
    '  logLevel: info',
    ...conn('remoteBrokerConnection', remotePort),
    ...conn('localBrokerConnection', localPort),
    '---',
    'apiVersion: mq.iotoperations.azure.com/v1beta1',
    'kind: MqttBridgeTopicMap',
    'metadata:',
    '  name: aedes-interop-routes',
    'spec:',
    `  mqttBridgeConnectorRef: ${CONNECTOR}`,
    '  routes:',
    ...routes,
    ''
  ].join('\n')
}

async function startBridge (localPort, remotePort) {
  const configDir = path.join(work, 'config')
  fs.mkdirSync(configDir)
  fs.writeFileSync(path.join(configDir, 'bridge.yaml'), bridgeYaml(localPort, remotePort))
  const metricsPort = await freePort()
  const child = new Child('mqbridge', bin, [
    'run', '-c', configDir, '--metrics-address', `127.0.0.1:${metricsPort}`,
    '--state-dir', path.join(work, 'state'), '--log-level', 'info'
  ], path.join(work, 'bridge.log'))
  const bridge = { child, url: `http://127.0.0.1:${metricsPort}` }
  bridge.ready = async () => (await httpGet(`${bridge.url}/readyz`)).status === 200
  // Sum of the samples of `name` whose labels contain every string of `labels`.
  bridge.metric = async (name, labels = []) => {
    const { status, body } = await httpGet(`${bridge.url}/metrics`)
    if (status !== 200) return NaN
    let sum = 0
    for (const line of body.split('\n')) {
      if (!line.startsWith(name + '{') && !line.startsWith(name + ' ')) continue
      if (labels.every((l) => line.includes(l))) sum += Number(line.slice(line.lastIndexOf(' ')))
    }
    return sum
  }
  return bridge
}

// What the bridge says about a failed step: its warnings and errors from log line `from` on, and
// the message counters of `routes`.
async function explain (bridge, from, routes, max = 25) {
  const lines = bridge.child.lines.slice(from)
    .filter((l) => /level=(warn|error)|"level":"(warn|error)"/.test(l))
  console.log('  bridge log, warnings and errors: ' + (lines.length ? '' : 'none'))
  for (const l of lines.slice(-max)) console.log(`    ${l}`)
  for (const r of routes) {
    const label = [`route="${r}"`]
    const counts = []
    for (const m of ['received', 'forwarded', 'dropped', 'retried']) {
      counts.push(`${m} ${await bridge.metric(`mqbridge_messages_${m}_total`, label)}`)
    }
    console.log(`  bridge metrics, route ${r}: ${counts.join(', ')}`)
  }
}

// --- MQTT.js clients ---------------------------------------------------------------------------

// An MQTT 3.1.1 client of `port`, recording what it receives in `c.received`.
async function client (port, clientId, opts = {}) {
  const c = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
    protocolVersion: 4, clientId, clean: true, reconnectPeriod: 0, connectTimeout: 5000, ...opts
  }, false)
  c.on('error', () => {})
  c.received = []
  c.on('message', (topic, payload, packet) => {
    c.received.push({ topic, payload: payload.toString(), qos: packet.qos, retain: packet.retain })
  })
  clients.add(c)
  return c
}

async function closeClient (c) {
  clients.delete(c)
  await c.endAsync(true)
}

function on (c, topic) { return c.received.filter((m) => m.topic === topic) }

// Unique payloads and duplicates among `msgs`.
function tally (msgs) {
  const seen = new Set()
  let dups = 0
  for (const m of msgs) {
    if (seen.has(m.payload)) dups++
    else seen.add(m.payload)
  }
  return { unique: seen, dups }
}

function missing (prefix, n, unique) {
  const out = []
  for (let i = 0; i < n; i++) if (!unique.has(`${prefix}${i}`)) out.push(i)
  return out
}

function publishMany (c, topic, prefix, n, qos) {
  const all = []
  for (let i = 0; i < n; i++) all.push(c.publishAsync(topic, `${prefix}${i}`, { qos }))
  return Promise.all(all)
}

// --- cleanup ------------------------------------------------------------------------------------

let cleanedUp = false
function cleanupNow () {
  if (cleanedUp) return
  cleanedUp = true
  for (const c of clients) c.end(true)
  for (const child of children) child.kill('SIGKILL')
  if (process.env.MQB_KEEP_TEST_DIRS) console.log(`kept ${work}`)
  else fs.rmSync(work, { recursive: true, force: true, maxRetries: 5 })
}

async function cleanup () {
  for (const c of [...clients]) await closeClient(c).catch(() => {})
  await Promise.all([...children].map((child) => child.stop(3000)))
  cleanupNow()
}

process.on('exit', cleanupNow)
for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    console.log(`FAIL interrupted by ${sig}`)
    cleanupNow()
    process.exit(130)
  })
}
const deadline = setTimeout(() => {
  console.log(`FAIL the test did not finish within ${DEADLINE_MS / 1000} s`)
  cleanupNow()
  process.exit(1)
}, DEADLINE_MS)

// --- the checks ----------------------------------------------------------------------------------

async function checkQos1 (local, remote) {
  const remoteSub = await client(remote.port, 'test-q1-sub')
  await remoteSub.subscribeAsync('up/q1', { qos: 1 })
  const localSub = await client(local.port, 'test-q1-sub')
  await localSub.subscribeAsync('down/q1', { qos: 1 })
  const localPub = await client(local.port, 'test-q1-pub')
  const remotePub = await client(remote.port, 'test-q1-pub')

  const t0 = Date.now()
  await Promise.all([
    publishMany(localPub, 'up/q1', 'l2r-', Q1_COUNT, 1),
    publishMany(remotePub, 'down/q1', 'r2l-', Q1_COUNT, 1)
  ])
  for (const [name, sub, topic, prefix] of [
    ['local -> remote', remoteSub, 'up/q1', 'l2r-'],
    ['remote -> local', localSub, 'down/q1', 'r2l-']
  ]) {
    await waitFor(() => tally(on(sub, topic)).unique.size >= Q1_COUNT, 20000)
    const msgs = on(sub, topic)
    const { unique, dups } = tally(msgs)
    const lost = missing(prefix, Q1_COUNT, unique)
    const notQos1 = msgs.filter((m) => m.qos !== 1).length
    check(lost.length === 0 && notQos1 === 0,
      `1. QoS 1 ${name}: ${unique.size}/${Q1_COUNT} arrived in ${Date.now() - t0} ms, ` +
      `${dups} duplicate(s), ${notQos1} not at QoS 1` +
      (lost.length ? `; missing #${lost.slice(0, 10).join(',')}` : ''))
  }
  for (const c of [remoteSub, localSub, localPub, remotePub]) await closeClient(c)
}

async function checkQos0 (local, remote) {
  const remoteSub = await client(remote.port, 'test-q0-sub')
  await remoteSub.subscribeAsync('up/q0', { qos: 1 })
  const localSub = await client(local.port, 'test-q0-sub')
  await localSub.subscribeAsync('down/q0', { qos: 1 })
  const localPub = await client(local.port, 'test-q0-pub')
  const remotePub = await client(remote.port, 'test-q0-pub')
  await Promise.all([
    publishMany(localPub, 'up/q0', 'l2r-', Q0_COUNT, 0),
    publishMany(remotePub, 'down/q0', 'r2l-', Q0_COUNT, 0)
  ])
  for (const [name, sub, topic, prefix] of [
    ['local -> remote', remoteSub, 'up/q0', 'l2r-'],
    ['remote -> local', localSub, 'down/q0', 'r2l-']
  ]) {
    await waitFor(() => tally(on(sub, topic)).unique.size >= Q0_COUNT, 10000)
    const msgs = on(sub, topic)
    const { unique, dups } = tally(msgs)
    const lost = missing(prefix, Q0_COUNT, unique)
    const notQos0 = msgs.filter((m) => m.qos !== 0).length
    check(lost.length === 0 && notQos0 === 0,
      `2. QoS 0 ${name}: ${unique.size}/${Q0_COUNT} arrived, ${dups} duplicate(s), ` +
      `${notQos0} not at QoS 0 (the route's QoS)` +
      (lost.length ? `; missing #${lost.slice(0, 10).join(',')}` : ''))
  }
  for (const c of [remoteSub, localSub, localPub, remotePub]) await closeClient(c)
}

// Before the bridge starts: a retained message on each side, and a watcher (a live subscriber)
// on the other side.
async function prepareRetained (local, remote) {
  const localPub = await client(local.port, 'test-ret-pub')
  await localPub.publishAsync('up/ret/early', 'ret-l2r', { qos: 1, retain: true })
  const remotePub = await client(remote.port, 'test-ret-pub')
  await remotePub.publishAsync('down/ret/early', 'ret-r2l', { qos: 1, retain: true })
  const remoteWatch = await client(remote.port, 'test-ret-watch')
  await remoteWatch.subscribeAsync('up/ret/#', { qos: 1 })
  const localWatch = await client(local.port, 'test-ret-watch')
  await localWatch.subscribeAsync('down/ret/#', { qos: 1 })
  return { localPub, remotePub, remoteWatch, localWatch }
}

// MQTT 3.1.1 (MQTT-3.3.1-8/9): a broker sets RETAIN only on what a new subscription gets from its
// store; on an established subscription the flag is 0. A v3 bridge therefore sees the flag on
// retained messages that exist when it subscribes, and forwards those as retained.
async function checkRetained (local, remote, r) {
  const sides = [
    ['local -> remote', r.localPub, r.remoteWatch, remote.port, 'up/ret', 'ret-l2r'],
    ['remote -> local', r.remotePub, r.localWatch, local.port, 'down/ret', 'ret-r2l']
  ]
  for (const [name, , watch, targetPort, base, payload] of sides) {
    const topic = `${base}/early`
    // The watcher seeing it means the target broker has it (stored, if it came retained).
    const forwarded = await waitFor(() => on(watch, topic).length > 0, 10000)
    if (!check(forwarded, `3. retained ${name}: the bridge forwarded ${topic}`)) continue
    const late = await client(targetPort, 'test-ret-late')
    await late.subscribeAsync(topic, { qos: 1 })
    await waitFor(() => on(late, topic).length > 0, 5000)
    const got = on(late, topic)[0]
    check(got && got.retain && got.payload === payload,
      `3. retained ${name}: a late subscriber to ${topic} got ` +
      (got ? `'${got.payload}' retain=${got.retain}` : 'nothing') +
      ` (want '${payload}' retain=true)`)
    await closeClient(late)
  }
  // Observation: a retained message published while the bridge's subscription is established.
  for (const [name, pub, watch, targetPort, base] of sides) {
    const topic = `${base}/live`
    await pub.publishAsync(topic, 'live', { qos: 1, retain: true })
    if (!await waitFor(() => on(watch, topic).length > 0, 10000)) {
      fail(`3. retained ${name}: ${topic} (published while bridged) was not forwarded`)
      continue
    }
    const late = await client(targetPort, 'test-ret-late')
    // One SUBSCRIBE: the stored `early` message arriving bounds the wait for `live`.
    await late.subscribeAsync([topic, `${base}/early`], { qos: 1 })
    await waitFor(() => on(late, `${base}/early`).length > 0, 5000)
    const got = on(late, topic)[0]
    info(`3. retained ${name}, published while the bridge was subscribed: forwarded; a late ` +
      'subscriber on the other side ' +
      (got ? `got it with retain=${got.retain}` : 'got nothing (not stored as retained there)'))
    await closeClient(late)
  }
  for (const c of Object.values(r)) await closeClient(c)
}

async function checkWildcards (local, remote) {
  const cases = [
    ['plant/+/temp (local -> remote)', local.port, remote.port, ['plant/#'],
      ['plant/a/humidity', 'plant/a/b/temp', 'plant/temp', 'plant/a/temp/x'],
      ['plant/a/temp', 'plant/b/temp', 'plant//temp']],
    ['fleet/# (remote -> local)', remote.port, local.port, ['fleet/#', 'fleetx/#', 'xfleet/#'],
      ['fleetx', 'fleetx/a', 'xfleet/a'],
      ['fleet', 'fleet/a', 'fleet/a/b/c']]
  ]
  for (const [name, srcPort, dstPort, filters, others, matching] of cases) {
    const sub = await client(dstPort, 'test-wild-sub')
    await sub.subscribeAsync(filters, { qos: 1 })
    const pub = await client(srcPort, 'test-wild-pub')
    // In this order from one client: forwarded non-matching messages would be delivered on the
    // same subscription ahead of the matching ones, so they would be in once those are.
    for (const t of [...others, ...matching]) await pub.publishAsync(t, `w:${t}`, { qos: 1 })
    await waitFor(() => matching.every((t) => on(sub, t).length > 0), 10000)
    const absent = matching.filter((t) => on(sub, t).length === 0)
    const leaked = others.filter((t) => on(sub, t).length > 0)
    check(absent.length === 0 && leaked.length === 0,
      `4. wildcard ${name}: forwarded [${matching.filter((t) => !absent.includes(t))}]` +
      (absent.length ? `, NOT forwarded [${absent}]` : '') +
      `; not matching, not forwarded [${others.filter((t) => !leaked.includes(t))}]` +
      (leaked.length ? `, but forwarded [${leaked}]` : ''))
    await closeClient(sub)
    await closeClient(pub)
  }
}

async function checkRemoteRestart (local, remote, bridge) {
  // The subscriber on Aedes reconnects by itself and subscribes again (MQTT.js resubscribe).
  const outSub = await client(remote.port, 'test-out-sub', { reconnectPeriod: 100 })
  await outSub.subscribeAsync('up/outage', { qos: 1 })
  const localSub = await client(local.port, 'test-after-sub')
  await localSub.subscribeAsync('down/q1', { qos: 1 })
  const localPub = await client(local.port, 'test-out-pub')
  remote.child.kill('SIGKILL')
  await remote.child.exit
  const noticed = await waitFor(async () => !await bridge.ready(), 5000)
  check(noticed, '5. the bridge reports not ready (/readyz) once Aedes is killed')

  await publishMany(localPub, 'up/outage', 'out-', OUTAGE_COUNT, 1)
  const received = () => bridge.metric('mqbridge_messages_received_total', ['route="l2r-out"'])
  await waitFor(async () => await received() >= OUTAGE_COUNT, 5000)
  const forwardedDuring = await bridge.metric('mqbridge_messages_forwarded_total',
    ['route="l2r-out"'])
  info(`5. during the outage the bridge received ${await received()}/${OUTAGE_COUNT} ` +
    `messages on l2r-out and forwarded ${forwardedDuring}`)

  // Restarted with every other client held until test-out-sub has subscribed again, so that
  // nothing forwarded can reach the new broker before its subscriber is there.
  const restarted = await startAedes(remote.port, 'test-out-sub')
  Object.assign(remote, restarted)
  const tRestart = restarted.startedAt
  let tFirst = null
  await waitFor(() => {
    if (tFirst === null && on(outSub, 'up/outage').length > 0) tFirst = Date.now()
    return tally(on(outSub, 'up/outage')).unique.size >= OUTAGE_COUNT
  }, 15000)
  if (tFirst === null && on(outSub, 'up/outage').length > 0) tFirst = Date.now()
  const reconnected = await waitFor(() => bridge.ready(), 15000)
  const tReady = Date.now()
  check(reconnected, `5. the bridge reconnected to the restarted Aedes: /readyz 200 ` +
    `${reconnected ? tReady - tRestart : '>15000'} ms after the restart`)
  const released = remote.child.lines.find((l) => l.startsWith('released '))
  info(`5. restarted Aedes: ${released ?? 'no release line'}; first forwarded message ` +
    `${tFirst !== null ? tFirst - tRestart + ' ms' : 'never'} after the restart`)

  const msgs = on(outSub, 'up/outage')
  const { unique, dups } = tally(msgs)
  const lost = missing('out-', OUTAGE_COUNT, unique)
  check(lost.length === 0,
    `5. QoS 1 published during the outage: ${unique.size}/${OUTAGE_COUNT} arrived at the ` +
    `restarted Aedes, ${dups} duplicate(s)` +
    (lost.length ? `; missing #${lost.slice(0, 10).join(',')}` : ''))

  // Remote -> local again: the bridge's subscription on Aedes was lost with the broker.
  const resub = await remote.child.waitLine(/^subscribed ia-r2l-q1 .*/, 5000)
  const remotePub = await client(remote.port, 'test-after-pub')
  await publishMany(remotePub, 'down/q1', 'after-', AFTER_COUNT, 1)
  await waitFor(() => tally(on(localSub, 'down/q1')).unique.size >= AFTER_COUNT, 10000)
  const after = tally(on(localSub, 'down/q1'))
  const lostAfter = missing('after-', AFTER_COUNT, after.unique)
  check(resub && lostAfter.length === 0,
    `5. remote -> local after the restart: bridge re-subscribed (${resub ? resub[0] : 'no'}); ` +
    `${after.unique.size}/${AFTER_COUNT} arrived, ${after.dups} duplicate(s)`)

  const reconnects = await bridge.metric('mqbridge_client_reconnects_total',
    ['side="remote"'])
  const retried = await bridge.metric('mqbridge_messages_retried_total', ['route="l2r-out"'])
  info(`5. bridge metrics: remote-side reconnects ${reconnects}, l2r-out retried ${retried}`)
  for (const c of [outSub, localSub, localPub, remotePub]) await closeClient(c)
}

async function main () {
  console.log(`mqbridge ${bin}; node ${process.version}; work dir ${work}`)
  const local = await startMosquitto()
  const remote = await startAedes(0)
  console.log(`mosquitto (local) 127.0.0.1:${local.port}; Aedes (remote) 127.0.0.1:${remote.port}`)

  const retained = await prepareRetained(local, remote)
  const bridge = await startBridge(local.port, remote.port)
  const ready = await waitFor(async () => !bridge.child.running || await bridge.ready(), 15000)
  if (!ready || !bridge.child.running) {
    const r = await httpGet(`${bridge.url}/readyz`)
    fail(`the bridge is not ready within 15 s (${bridge.child.status ?? 'running'}; ` +
      `/readyz ${r.status} ${r.body.trim()})`)
    console.log(bridge.child.lines.slice(-30).map((l) => `    ${l}`).join('\n'))
    return
  }
  pass(`bridge ready (/readyz 200) after ${elapsed()}`)

  const steps = [
    ['retained', ['l2r-ret', 'r2l-ret'], () => checkRetained(local, remote, retained)],
    ['qos1', ['l2r-q1', 'r2l-q1'], () => checkQos1(local, remote)],
    ['qos0', ['l2r-q0', 'r2l-q0'], () => checkQos0(local, remote)],
    ['wildcards', ['l2r-wild', 'r2l-wild'], () => checkWildcards(local, remote)],
    ['restart', ['l2r-out', 'r2l-q1'], () => checkRemoteRestart(local, remote, bridge)]
  ]
  for (const [name, routes, step] of steps) {
    const before = failures
    const logFrom = bridge.child.lines.length
    try {
      await step()
    } catch (err) {
      fail(`${name}: ${err.stack ?? err}`)
    }
    if (failures > before) await explain(bridge, logFrom, routes)
  }

  const status = await bridge.child.stop(15000)
  info(`mqbridge stopped with SIGTERM: ${status}`)
}

try {
  await main()
} catch (err) {
  fail(err.stack ?? String(err))
}
await cleanup()
clearTimeout(deadline)
console.log(`${passes} passed, ${failures} failed (${elapsed()})`)
process.exit(failures === 0 && passes > 0 ? 0 : 1)
