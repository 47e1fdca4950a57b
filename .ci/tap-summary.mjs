#!/usr/bin/env node
// Counts what a tap run really did, from the raw TAP that tap keeps per test file in
// .tap/test-results/ (the terse reporter shows neither skipped files nor skipped subtests).
//
//   node .ci/tap-summary.mjs [RESULTS_DIR] [--expect-files N]
//
// Leaf test points only (a subtest's own summary line is not counted again): "ok" is a pass,
// "not ok" a failure, a "# SKIP" directive a skip, "# TODO" a todo; a file whose plan is 1..0
// counts as one skip, and a file with no test point at all (it crashed before planning, or ran
// nothing) as one failure. Prints every skip, todo and failure with its file, then one line:
// "N passed, N failed, N skipped". Exit 0 only when nothing failed, nothing was skipped or left
// todo, and (with --expect-files) every test file left results.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const args = process.argv.slice(2);
let dir = '.tap/test-results';
let expectFiles;
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--expect-files') expectFiles = Number(args[++i]);
  else dir = args[i];
}

function walk(d) {
  const out = [];
  for (const name of readdirSync(d)) {
    const p = join(d, name);
    if (statSync(p).isDirectory()) out.push(...walk(p));
    else if (name.endsWith('.tap')) out.push(p);
  }
  return out;
}

const POINT = /^(\s*)(not ok|ok)\b(?:\s+\d+)?(?:\s+-)?\s*(.*)$/;
const PLAN = /^(\s*)1\.\.(\d+)(.*)$/;
const DIRECTIVE = /(?:^|\s)#\s*(SKIP|TODO)\b\S*\s*(.*)$/i;

let pass = 0;
let fail = 0;
let skip = 0;
let todo = 0;
const notes = [];
let files = [];
try {
  files = walk(dir).sort();
} catch (err) {
  console.log(`no test results in ${dir}: ${err.message}`);
}

for (const file of files) {
  const name = relative(dir, file).replace(/\.tap$/, '');
  const lines = readFileSync(file, 'utf8').split('\n');
  let points = 0;
  let prevPlanIndent = -1; // indent of the last plan line, while it is the last meaningful line
  let inYaml = false;
  const childFailed = new Map(); // indent → a failure was counted there since the last close
  for (const line of lines) {
    if (inYaml) {
      if (/^\s*\.\.\.\s*$/.test(line)) inYaml = false;
      continue;
    }
    if (/^\s*---\s*$/.test(line)) {
      inYaml = true;
      continue;
    }
    const plan = PLAN.exec(line);
    if (plan) {
      const indent = plan[1].length;
      if (indent === 0 && plan[2] === '0') {
        skip++;
        points++;
        notes.push(`skipped: ${name}: ${plan[3].replace(/^\s*#\s*/, '') || 'plan 1..0'}`);
      }
      prevPlanIndent = indent;
      continue;
    }
    const m = POINT.exec(line);
    if (!m) continue;
    const indent = m[1].length;
    const ok = m[2] === 'ok';
    const d = DIRECTIVE.exec(m[3]);
    // A point right after its children's plan closes a subtest whose children were counted;
    // it is a failure of its own only when none of them failed (a timeout, a throw).
    if (prevPlanIndent === indent + 4) {
      prevPlanIndent = -1;
      const childrenFailed = childFailed.get(indent + 4) === true;
      childFailed.delete(indent + 4);
      if (!ok && !childrenFailed) {
        fail++;
        notes.push(`failed: ${name}: ${m[3]}`);
      }
      if (!ok) childFailed.set(indent, true);
      continue;
    }
    prevPlanIndent = -1;
    points++;
    if (d && d[1].toUpperCase() === 'SKIP') {
      skip++;
      notes.push(`skipped: ${name}: ${m[3]}`);
    } else if (d && d[1].toUpperCase() === 'TODO') {
      todo++;
      notes.push(`todo: ${name}: ${m[3]}`);
    } else if (ok) {
      pass++;
    } else {
      fail++;
      childFailed.set(indent, true);
      notes.push(`failed: ${name}: ${m[3]}`);
    }
  }
  if (points === 0) {
    fail++;
    notes.push(`failed: ${name}: no test point at all (crashed before its first assertion?)`);
  }
}

if (expectFiles !== undefined && files.length !== expectFiles) {
  fail++;
  notes.push(`failed: ${expectFiles} test files, but results for ${files.length}`);
}
for (const n of notes) console.log(n);
if (todo > 0) console.log(`${todo} todo`);
console.log(`${pass} passed, ${fail} failed, ${skip} skipped`);
process.exit(fail === 0 && skip === 0 && todo === 0 && files.length > 0 ? 0 : 1);
