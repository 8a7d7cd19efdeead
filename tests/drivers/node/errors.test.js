'use strict'
// Error statuses and codes as the Python suite checks them, through the JS driver's classes.

const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { DATASET, start, client, uid, q, faunadb } = require('./fauna-dev')

const { errors } = faunadb
let instance, fauna

before(async () => {
  instance = await start('--dataset', DATASET)
  fauna = client(instance)
})

after(async () => {
  await fauna.close({ force: true })
  await instance.stop()
})

async function expectError(promise, cls, status, code, description, position) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof cls, `${err} is not a ${cls.name}`)
    assert.equal(err.requestResult.statusCode, status)
    const body = err.requestResult.responseContent.errors
    assert.equal(body.length, 1)
    assert.equal(body[0].code, code)
    if (description !== undefined) assert.equal(body[0].description, description)
    if (position === undefined) assert.equal('position' in body[0], false)
    else assert.deepEqual(body[0].position, position)
    return true
  })
}

test('400 invalid expression', async () => {
  await expectError(fauna.query(q.Var('x')), errors.BadRequest, 400, 'invalid expression',
    "Variable 'x' is not defined.", [])
})

test('400 invalid ref', async () => {
  const name = `nope_${uid()}`
  await expectError(fauna.query(q.Paginate(q.Documents(q.Collection(name)))), errors.BadRequest,
    400, 'invalid ref', `Ref refers to undefined collection '${name}'`, ['paginate', 'documents'])
})

test('400 transaction aborted', async () => {
  await expectError(fauna.query(q.Abort('boom')), errors.BadRequest, 400,
    'transaction aborted', 'boom', [])
})

test('400 instance already exists', async () => {
  const coll = `node_dup_${uid()}`
  await fauna.query(q.CreateCollection({ name: coll }))
  await fauna.query(q.Create(q.Ref(q.Collection(coll), '1'), {}))
  await expectError(fauna.query(q.Create(q.Ref(q.Collection(coll), '1'), {})), errors.BadRequest,
    400, 'instance already exists', 'Document already exists.', ['create'])
})

test('400 bad request header', async () => {
  await expectError(fauna.query(q.Now(), { queryTimeout: 600001 }), errors.BadRequest, 400,
    'bad request', "Invalid header 'x-query-timeout': Must be less than or equal to 600000.")
})

test('401 unauthorized', async () => {
  const bad = client(instance, 'not-a-secret')
  try {
    await expectError(bad.query(q.Now()), errors.Unauthorized, 401, 'unauthorized',
      'Unauthorized')
  } finally {
    await bad.close({ force: true })
  }
})

test('403 permission denied', async () => {
  const connect = client(instance, 'fauna-dev-test-connect-readonly')
  try {
    await expectError(connect.query(q.Get(q.Ref(q.Collection('seed_private'), '201'))),
      errors.PermissionDenied, 403, 'permission denied',
      'Insufficient privileges to perform the action.', [])
    const page = await connect.query(q.Paginate(q.Documents(q.Collection('seed_private'))))
    assert.deepEqual(page.data, [])
  } finally {
    await connect.close({ force: true })
  }
})

test('404 instance not found and value not found', async () => {
  await expectError(fauna.query(q.Get(q.Ref(q.Collection('seed_letters'), '999'))),
    errors.NotFound, 404, 'instance not found', 'Document not found.', [])
  await expectError(fauna.query(q.Select('a', {})), errors.NotFound, 404, 'value not found',
    'Value not found at path [a].', ['from'])
})

test('429 and 503 from fault injection', async () => {
  const limited = await start('--fault-rate', '1', '--faults', '429')
  const timedOut = await start('--fault-rate', '1', '--faults', '503')
  const a = client(limited)
  const b = client(timedOut)
  try {
    await expectError(a.query(q.Now()), errors.TooManyRequests, 429, 'too many requests',
      'Rate limit for read exceeded')
    await expectError(b.query(q.Now()), errors.UnavailableError, 503, 'time out',
      'Read timed out')
  } finally {
    await a.close({ force: true })
    await b.close({ force: true })
    await limited.stop()
    await timedOut.stop()
  }
})

test('404 path, 405 method and 413 body, over plain HTTP/1.1', async () => {
  const headers = { authorization: 'Bearer secret', 'x-faunadb-api-version': '4' }
  let res = await fetch(`${instance.url}/nope`, { headers })
  assert.equal(res.status, 404)
  assert.deepEqual(await res.json(), { errors: [{ code: 'not found', description: 'Not Found' }] })
  res = await fetch(`${instance.url}/`, { method: 'DELETE', headers })
  assert.equal(res.status, 405)
  assert.equal(res.headers.get('allow'), 'GET, POST')
  assert.deepEqual(await res.json(), {
    errors: [{ code: 'method not allowed', description: 'Allowed methods are GET, POST.' }],
  })
  res = await fetch(`${instance.url}/`, {
    method: 'POST',
    headers,
    body: Buffer.alloc(8 * 1024 * 1024 + 1, 32),
  })
  assert.equal(res.status, 413)
  assert.deepEqual(await res.json(), {
    errors: [{ code: 'request too large', description: 'Request entity is too large' }],
  })
})

test('405 through the driver', async () => {
  await expectError(fauna._execute('DELETE', '', undefined, null), errors.MethodNotAllowed, 405,
    'method not allowed', 'Allowed methods are GET, POST.')
})
