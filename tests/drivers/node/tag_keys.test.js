'use strict'
// Documents whose data holds wire-tag names as keys (issue 15), as the Python suite checks them.
// The driver wraps every object as {"object": …}; as on the real server a tag key next to
// other keys is a field name, a lone one is written through {"object": {"@obj": {…}}}, and
// responses escape objects with @-keys as {"@obj": …}. The driver's reviver takes any object
// holding a tag name as that type, so what the server sends is checked on the raw responses.

const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { DATASET, start, client, uid, q, faunadb } = require('./fauna-dev')

const { Expr, errors } = faunadb
let instance, fauna, raw

const TAGS = ['@ref', '@obj', '@set', '@query', '@ts', '@date', '@bytes', '@uuid', '@weird']
// Values the driver's reviver digests without throwing (a string under "@ref" would not be,
// nor a "@ts" string that is not an ISO time in Z).
const VALUES = {
  '@ref': { id: 'r' },
  '@obj': 'o',
  '@set': 's',
  '@query': 'q',
  '@ts': '1970-01-01T00:00:00Z',
  '@date': '2012-02-01',
  '@bytes': 'AQID',
  '@uuid': 'u',
  '@weird': 'w',
}

before(async () => {
  instance = await start('--dataset', DATASET)
  fauna = client(instance)
  raw = () => last.responseRaw
})

after(async () => {
  await fauna.close({ force: true })
  await instance.stop()
})

let last = null
const observer = (result) => (last = result)
const run = (expr) => fauna.query(expr, { observer })

/** {"object": {"@obj": {tag: value}}}: an object whose only key is `tag`. */
function lone(tag, value) {
  const v = typeof value === 'object' ? q.Object(value) : value
  return new Expr({ object: new Expr({ '@obj': new Expr({ [tag]: v }) }) })
}

const dataFor = (i, tag) => ({
  [tag]: VALUES[tag],
  n: i,
  nested: { deeper: { [tag]: VALUES[tag], k: 1 } },
  alone: lone(tag, VALUES[tag]),
})

function dataRaw(i, tag) {
  const v = JSON.stringify(VALUES[tag])
  return (
    `{"@obj":{"${tag}":${v},"n":${i},"nested":{"deeper":{"@obj":{"${tag}":${v},"k":1}}},` +
    `"alone":{"@obj":{"${tag}":${v}}}}}`
  )
}

const refRaw = (coll, id) =>
  `{"@ref":{"id":"${id}","collection":{"@ref":{"id":"${coll}","collection":{"@ref":{"id":"collections"}}}}}}`

test('documents with tag keys are created, read and paginated, @obj-escaped', async () => {
  const coll = `node_tagkeys_${uid()}`
  await run(q.CreateCollection({ name: coll }))
  const docs = []
  for (const [n, tag] of TAGS.entries()) {
    const i = n + 1
    const ref = q.Ref(q.Collection(coll), String(i))
    const created = await run(q.Create(ref, { data: dataFor(i, tag) }))
    assert.equal(last.statusCode, 201)
    const doc = `{"ref":${refRaw(coll, i)},"ts":${created.ts},"data":${dataRaw(i, tag)}}`
    assert.equal(raw(), `{"resource":${doc}}`)
    await run(q.Get(ref))
    assert.equal(raw(), `{"resource":${doc}}`)
    docs.push(doc)
  }
  const pages = []
  let cursor
  for (;;) {
    const opts = cursor === undefined ? { size: 4 } : { size: 4, after: cursor }
    const page = await run(
      q.Map(q.Paginate(q.Documents(q.Collection(coll)), opts), q.Lambda('r', q.Get(q.Var('r'))))
    )
    pages.push(raw())
    if (page.after === undefined) break
    cursor = page.after
  }
  assert.equal(pages.length, 3)
  pages.forEach((p, n) => {
    assert.ok(p.startsWith('{"resource":{'), p)
    assert.ok(p.includes(`"data":[${docs.slice(4 * n, 4 * n + 4).join(',')}]`), p)
  })
  await run(q.Select(['data', 'alone'], q.Get(q.Ref(q.Collection(coll), '5'))))
  assert.equal(raw(), '{"resource":{"@obj":{"@ts":"1970-01-01T00:00:00Z"}}}')
})

test('a lone tag in a driver object is the tagged value, as on the real server', async () => {
  const coll = `node_tagkeys_err_${uid()}`
  await run(q.CreateCollection({ name: coll }))
  const expectError = (expr, description, position) =>
    assert.rejects(run(expr), (err) => {
      assert.ok(err instanceof errors.BadRequest, `${err}`)
      assert.deepEqual(err.requestResult.responseContent.errors, [
        { position, code: 'invalid expression', description },
      ])
      return true
    })
  await expectError(
    q.Create(q.Collection(coll), { data: { '@weird': { '@ts': 'not a time' } } }),
    'Invalid time.',
    ['params', 'object', 'data', 'object', '@weird', 'object']
  )
  await expectError(
    q.Create(q.Collection(coll), { data: { '@date': '2012-02-01' } }),
    'Object expected, Date provided.',
    ['params', 'object', 'data']
  )
  assert.equal(await run(q.Count(q.Documents(q.Collection(coll)))), 0)
})
