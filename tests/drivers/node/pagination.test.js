'use strict'
// Pagination as the Python suite checks it: forward/backward walks at sizes 1, 2 and 64 over
// Documents and a [ts, ref] index, and every cursor form.

const { test, before, after } = require('node:test')
const assert = require('node:assert/strict')
const { DATASET, start, client, uid, plain, q } = require('./fauna-dev')

const N = 10
let instance, fauna, coll

before(async () => {
  instance = await start('--dataset', DATASET)
  fauna = client(instance)
  coll = `node_pg_${uid()}`
  await fauna.query(q.CreateCollection({ name: coll }))
  await fauna.query(
    q.Do(
      ...Array.from({ length: N }, (_, i) =>
        q.Create(q.Ref(q.Collection(coll), String(i + 1)), { data: { i: i + 1 } })
      )
    )
  )
  await fauna.query(
    q.CreateIndex({
      name: `${coll}_by_ts`,
      source: q.Collection(coll),
      values: [{ field: 'ts' }, { field: 'ref' }],
    })
  )
})

after(async () => {
  await fauna.close({ force: true })
  await instance.stop()
})

const ref = (i) => ({
  '@ref': { id: String(i), collection: { '@ref': { id: coll, collection: { '@ref': { id: 'collections' } } } } },
})
const docs = () => q.Documents(q.Collection(coll))
const ids = (page) => plain(page.data).map((r) => Number(r['@ref'].id))

async function walkForward(set, size) {
  const pages = []
  let cursor
  for (;;) {
    const page = await fauna.query(q.Paginate(set, cursor ? { size, after: cursor } : { size }))
    pages.push(page)
    if (!page.after) return pages
    assert.equal(page.data.length, size)
    cursor = page.after
  }
}

async function walkBackward(set, size) {
  const pages = []
  let cursor = null
  for (;;) {
    const page = await fauna.query(q.Paginate(set, { size, before: cursor }))
    pages.unshift(page)
    if (!page.before) return pages
    assert.equal(page.data.length, size)
    cursor = page.before
  }
}

for (const size of [1, 2, 64]) {
  test(`walk Documents forwards and backwards at size ${size}`, async () => {
    const full = await fauna.query(q.Paginate(docs(), { size: 100000 }))
    assert.deepEqual(ids(full), Array.from({ length: N }, (_, i) => i + 1))
    const forward = await walkForward(docs(), size)
    assert.deepEqual(forward.flatMap(ids), ids(full))
    assert.equal(forward[0].before, undefined)
    for (let i = 1; i < forward.length; i++) {
      assert.deepEqual(plain(forward[i - 1].after), [plain(forward[i].data[0])])
      assert.deepEqual(plain(forward[i].before), plain(forward[i - 1].after))
    }
    const backward = await walkBackward(docs(), size)
    assert.deepEqual(backward.flatMap(ids), ids(full))
  })

  test(`walk the ts index forwards and backwards at size ${size}`, async () => {
    const idx = q.Match(q.Index(`${coll}_by_ts`))
    const full = plain((await fauna.query(q.Paginate(idx, { size: 100000 }))).data)
    assert.equal(full.length, N)
    const ts = full[0][0]
    assert.deepEqual(full, Array.from({ length: N }, (_, i) => [ts, ref(i + 1)]))
    const forward = await walkForward(idx, size)
    assert.deepEqual(plain(forward.flatMap((p) => p.data)), full)
    for (let i = 1; i < forward.length; i++) {
      const [t, r] = plain(forward[i].data[0])
      assert.deepEqual(plain(forward[i - 1].after), [t, r, r])
    }
    const backward = await walkBackward(idx, size)
    assert.deepEqual(plain(backward.flatMap((p) => p.data)), full)
  })
}

test('cursor forms', async () => {
  const r = (i) => q.Ref(q.Collection(coll), String(i))
  let page = plain(await fauna.query(q.Paginate(docs(), { size: 3, after: [r(4)] })))
  assert.deepEqual(page, { before: [ref(4)], after: [ref(7)], data: [ref(4), ref(5), ref(6)] })
  page = plain(await fauna.query(q.Paginate(docs(), { size: 3, after: r(4) })))
  assert.deepEqual(page.data, [ref(4), ref(5), ref(6)])
  page = plain(await fauna.query(q.Paginate(docs(), { size: 3, before: [r(4)] })))
  assert.deepEqual(page, { after: [ref(4)], data: [ref(1), ref(2), ref(3)] })
  page = plain(await fauna.query(q.Paginate(docs(), { size: 3, before: [r(8)] })))
  assert.deepEqual(page, { before: [ref(5)], after: [ref(8)], data: [ref(5), ref(6), ref(7)] })
  page = plain(await fauna.query(q.Paginate(docs(), { size: 3, cursor: { after: [r(4)] } })))
  assert.deepEqual(page.data, [ref(4), ref(5), ref(6)])
  page = plain(await fauna.query(q.Paginate(docs(), { size: 3, cursor: { before: [r(4)] } })))
  assert.deepEqual(page.data, [ref(1), ref(2), ref(3)])
  assert.deepEqual(ids(await fauna.query(q.Paginate(docs(), { size: 3, after: 0 }))), [1, 2, 3])
  assert.deepEqual(ids(await fauna.query(q.Paginate(docs(), { size: 3, after: null }))), [])
  assert.deepEqual(ids(await fauna.query(q.Paginate(docs(), { size: 3, before: 0 }))), [])
  const last = plain(await fauna.query(q.Paginate(docs(), { size: 3, before: null })))
  assert.deepEqual(last.data, [ref(8), ref(9), ref(10)])
  assert.deepEqual(last.before, [ref(8)])
})

test('Range over the ts index and event cursors', async () => {
  const idx = q.Match(q.Index(`${coll}_by_ts`))
  const all = plain((await fauna.query(q.Paginate(q.Range(idx, [0], []), { size: 64 }))).data)
  assert.equal(all.length, N)
  const [t0] = all[0]
  const upd = await fauna.query(q.Update(q.Ref(q.Collection(coll), '3'), { data: { i: 30 } }))
  const since = plain(
    (await fauna.query(q.Paginate(q.Range(idx, [t0 + 1], []), { size: 64 }))).data
  )
  assert.deepEqual(since, [[upd.ts, ref(3)]])
  const events = plain((await fauna.query(q.Paginate(docs(), { events: true, size: 64 }))).data)
  assert.deepEqual(
    events.map((e) => [e.action, Number(e.document['@ref'].id)]),
    Array.from({ length: N }, (_, i) => ['add', i + 1])
  )
  const first = await fauna.query(q.Paginate(docs(), { events: true, size: 1 }))
  assert.deepEqual(plain(first.after), events[1])
})
