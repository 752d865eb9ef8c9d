// An Aedes MQTT 3.1.1 broker on 127.0.0.1 with in-memory persistence, for the interop test.
//
// Usage: node broker.mjs <port> [--hold-until-subscribed CLIENT_ID]
//   <port>  TCP port on 127.0.0.1; 0 takes a free one.
//   --hold-until-subscribed CLIENT_ID
//           every other client's CONNECT is answered only once CLIENT_ID has made a
//           subscription (at most 10 s): lets a test subscriber be in place on a restarted
//           broker before anyone can publish to it.
//
// stdout, one line per event: `listening <port>` once the socket accepts, then
// `connected <client id>`, `subscribed <client id> <filter>[,<filter>...]` (also for the
// subscriptions of a session Aedes restores at CONNECT, printed before its `connected`),
// `disconnected <client id>`, `client-error <client id> <message>`, `released <n>` (held
// connections let through). SIGTERM or SIGINT closes the broker and exits 0.
import net from 'node:net'
import createAedes from 'aedes'

const HOLD_LIMIT_MS = 10000

function usage (msg) {
  process.stderr.write(`broker.mjs: ${msg}\n` +
    'usage: node broker.mjs <port> [--hold-until-subscribed CLIENT_ID]\n')
  process.exit(2)
}

const args = process.argv.slice(2)
if (args.length !== 1 && args.length !== 3) usage('wrong number of arguments')
const port = Number(args[0])
if (!Number.isInteger(port) || port < 0 || port > 65535) usage(`bad port '${args[0]}'`)
let holdFor = null
if (args.length === 3) {
  if (args[1] !== '--hold-until-subscribed') usage(`unknown option '${args[1]}'`)
  holdFor = args[2]
}

const say = (line) => process.stdout.write(line + '\n')

const broker = createAedes()

// Connections held back until `holdFor` subscribes: their preConnect callbacks.
let held = []
let holding = holdFor !== null
function release () {
  if (!holding) return
  holding = false
  say(`released ${held.length}`)
  for (const cb of held) cb(null, true)
  held = []
}
if (holding) setTimeout(release, HOLD_LIMIT_MS).unref()

broker.preConnect = (client, packet, callback) => {
  if (holding && packet.clientId !== holdFor) {
    held.push(callback)
  } else {
    callback(null, true)
  }
}
broker.on('clientReady', (client) => say(`connected ${client.id}`))
broker.on('clientDisconnect', (client) => say(`disconnected ${client.id}`))
broker.on('clientError', (client, err) => say(`client-error ${client.id} ${err.message}`))
broker.on('connectionError', (client, err) =>
  say(`client-error ${client?.id ?? '?'} ${err.message}`))
broker.on('subscribe', (subs, client) => {
  if (!client) return
  say(`subscribed ${client.id} ${subs.map((s) => s.topic).join(',')}`)
  if (client.id === holdFor) release()
})

const server = net.createServer(broker.handle)
server.on('error', (err) => {
  process.stderr.write(`broker.mjs: ${err.message}\n`)
  process.exit(1)
})
server.listen(port, '127.0.0.1', () => say(`listening ${server.address().port}`))

let closing = false
function shutdown () {
  if (closing) return
  closing = true
  release()
  server.close()
  broker.close(() => process.exit(0))
  setTimeout(() => process.exit(0), 2000).unref()
}
process.on('SIGTERM', shutdown)
process.on('SIGINT', shutdown)
