'use strict'
// Starts fauna-dev for the Node driver tests and builds clients for it.
//
// The binary is FAUNA_DEV_BIN, or <target>/debug/fauna-dev where <target> is CARGO_TARGET_DIR
// or the repository's target/ (build it first: cargo build -p fauna-dev --bin fauna-dev).

const { spawn } = require('node:child_process')
const path = require('node:path')
const crypto = require('node:crypto')
const faunadb = require('faunadb')

const ROOT = path.resolve(__dirname, '..', '..', '..')
const DATASET = path.join(ROOT, 'fixtures', 'fauna-dev-test')

function binary() {
  if (process.env.FAUNA_DEV_BIN) return process.env.FAUNA_DEV_BIN
  const target = process.env.CARGO_TARGET_DIR
    ? path.resolve(ROOT, process.env.CARGO_TARGET_DIR)
    : path.join(ROOT, 'target')
  return path.join(target, 'debug', 'fauna-dev')
}

/** Starts fauna-dev on a free port; resolves to {url, host, port, stop()}. */
function start(...args) {
  return new Promise((resolve, reject) => {
    const proc = spawn(binary(), ['--port', '0', ...args], {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stderr = ''
    let stdout = ''
    proc.stderr.on('data', (d) => (stderr += d))
    proc.on('error', reject)
    proc.on('exit', (code) => reject(new Error(`fauna-dev exited (${code}): ${stderr}`)))
    proc.stdout.on('data', (d) => {
      stdout += d
      const line = stdout.split('\n')[0]
      if (!stdout.includes('\n')) return
      const m = /^fauna-dev listening on (http:\/\/(.+):(\d+))$/.exec(line.trim())
      if (!m) return reject(new Error(`unexpected first line ${JSON.stringify(line)}`))
      resolve({
        url: m[1],
        host: m[2],
        port: Number(m[3]),
        stop: () =>
          new Promise((done) => {
            proc.removeAllListeners('exit')
            proc.on('exit', () => done())
            proc.kill('SIGTERM')
          }),
      })
    })
  })
}

/** A driver client for an instance (HTTP/2 with prior knowledge, the driver's default). */
function client(instance, secret = 'secret') {
  return new faunadb.Client({
    secret,
    domain: instance.host,
    port: instance.port,
    scheme: 'http',
    checkNewVersion: false,
  })
}

function uid() {
  return crypto.randomBytes(5).toString('hex')
}

/** Plain JSON of a driver value, for deep comparisons (refs become {"@ref": …}). */
function plain(value) {
  return JSON.parse(JSON.stringify(value))
}

module.exports = { DATASET, start, client, uid, plain, faunadb, q: faunadb.query }
