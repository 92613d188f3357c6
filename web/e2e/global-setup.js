// Builds usestats, starts `usestats serve` on a free 127.0.0.1 port with a
// fresh demo database and store, and hands the tests (through environment
// variables, which the test workers inherit) its address, the demo's
// site:read token and two narrow tokens made with `usestats token create`:
// a learner's user:<id>:self, a course's course:<id>:read and a group's
// group:<id>:read.
import { spawn, execFileSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, createWriteStream } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { root, artifacts } from './tests/paths.js';
import { lastDays } from './tests/range.js';

function freePort() {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.on('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => ok(port));
    });
  });
}

// The demo token from the server's stdout, or an error when the server ends
// or stays silent.
function demoToken(child, ms) {
  return new Promise((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`usestats serve printed no demo token within ${ms / 1000} s`)), ms);
    child.on('exit', (code) => fail(new Error(`usestats serve exited (${code}) before printing its demo token`)));
    createInterface({ input: child.stdout }).on('line', (line) => {
      const m = /demo token \(site:read\): (ust_\S+)/.exec(line);
      if (m) {
        clearTimeout(timer);
        ok(m[1]);
      }
    });
  });
}

async function ready(url, ms) {
  const end = Date.now() + ms;
  for (;;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not listening yet
    }
    if (Date.now() > end) throw new Error(`${url} did not answer within ${ms / 1000} s`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

async function gql(url, token, query, variables = {}) {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify({ query, variables }),
  });
  const body = await res.json();
  if (body.errors?.length) throw new Error(JSON.stringify(body.errors));
  return body.data;
}

export default async function globalSetup() {
  const tmp = mkdtempSync(join(tmpdir(), 'usestats-e2e-'));
  const bin = join(tmp, 'usestats');
  execFileSync('go', ['build', '-o', bin, './cmd/usestats'], { cwd: root, stdio: 'inherit' });

  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  const store = `sqlite://${join(tmp, 'store.db')}`;
  mkdirSync(artifacts, { recursive: true });
  const child = spawn(bin, ['serve', '--addr', `127.0.0.1:${port}`, '--demo-db', join(tmp, 'demo.db'), '--store', store, '--demo-users', '40'],
    { cwd: tmp, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stderr.pipe(createWriteStream(join(artifacts, 'e2e-server.log')));
  const stop = () => {
    if (child.exitCode === null) child.kill('SIGTERM');
  };
  process.on('exit', stop);
  try {
    const site = await demoToken(child, 120_000);
    await ready(`${url}/favicon.svg`, 30_000);

    // The learner and the course with the most time in the default range.
    const { from, to } = lastDays(30);
    const range = { from, to };
    const d = await gql(url, site, `query($range: TimeRange) {
      users(first: 1, orderBy: {field: TOTAL, direction: DESC}, range: $range) { edges { node { id } } }
      site { stats(range: $range) { topCourses(first: 1) { courseId course { groups { id } } } } } }`, { range });
    const learner = d.users.edges[0].node.id;
    const course = d.site.stats.topCourses[0].courseId;
    const group = d.site.stats.topCourses[0].course.groups[0].id;
    const token = (name, scope) => execFileSync(bin, ['token', 'create', '--store', store, '--name', name, '--scope', scope],
      { cwd: tmp, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim().split('\n')[0].trim();

    Object.assign(process.env, {
      USESTATS_E2E_URL: url,
      USESTATS_E2E_SITE_TOKEN: site,
      USESTATS_E2E_LEARNER: learner,
      USESTATS_E2E_LEARNER_TOKEN: token('e2e-learner', `user:${learner}:self`),
      USESTATS_E2E_COURSE: course,
      USESTATS_E2E_COURSE_TOKEN: token('e2e-course', `course:${course}:read`),
      USESTATS_E2E_GROUP: group,
      USESTATS_E2E_GROUP_TOKEN: token('e2e-group', `group:${group}:read`),
    });
  } catch (e) {
    stop();
    throw e;
  }

  return async () => {
    stop();
    await new Promise((r) => (child.exitCode === null ? child.once('exit', r) : r()));
    rmSync(tmp, { recursive: true, force: true });
  };
}
