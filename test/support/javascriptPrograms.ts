/**
 * Programs written the way small models write them. The worker feeds each refusal back to the
 * model and a refused program costs a try, so ordinary code must pass untouched.
 */
export const ORDINARY_JAVASCRIPT: Record<string, string> = {
  "a word count with an object as a map": `
function wordCounts(text) {
  const counts = {};
  for (const raw of text.toLowerCase().split(/\\s+/)) {
    const word = raw.replace(/[.,!?;:]/g, "");
    if (word) counts[word] = (counts[word] || 0) + 1;
  }
  return counts;
}
const counts = wordCounts("The quick brown fox. The lazy dog! The end?");
const sorted = Object.entries(counts).sort(([a, x], [b, y]) => y - x || a.localeCompare(b));
for (const [word, n] of sorted) console.log(\`\${word.padEnd(10)}\${String(n).padStart(3)}\`);
console.log("-".repeat(20));
`,
  "memoised recursion, grids and labelled loops": `
const memo = {};
function fib(n) {
  if (n in memo) return memo[n];
  const value = n < 2 ? n : fib(n - 1) + fib(n - 2);
  memo[n] = value;
  return value;
}
const grid = Array.from({ length: 4 }, (_, r) => Array.from({ length: 4 }, (_, c) => r * 4 + c));
let found = null;
outer: for (let r = 0; r < grid.length; r++) {
  for (let c = 0; c < grid[r].length; c++) {
    if (grid[r][c] === 9) { found = [r, c]; break outer; }
    if (grid[r][c] % 2) continue outer;
  }
}
const key = "total";
const stats = { [key]: grid.flat().reduce((a, b) => a + b, 0), ["max" + "Value"]: Math.max(...grid.flat()) };
console.log(fib(30), found, stats[key], stats.maxValue, grid.at(-1)?.[0] ?? "none");
`,
  "destructuring, defaults, rest and spread": `
const people = [
  { name: "Ada", age: 36, langs: ["en", "fr"] },
  { name: "Linus", age: 28, langs: ["fi", "en", "sv"] },
];
function describe({ name, age = 0, langs: [first, ...others] = [] }, { verbose } = {}) {
  return verbose ? \`\${name} (\${age}) speaks \${first} and \${others.length} more\` : name;
}
const [oldest] = [...people].sort((a, b) => b.age - a.age);
const { name: oldestName, ...rest } = oldest;
console.log(people.map((p) => describe(p, { verbose: true })).join("\\n"));
console.log(oldestName, Object.keys(rest), JSON.stringify({ ...rest, checked: true }));
const byLang = people.reduce((acc, p) => {
  for (const l of p.langs) (acc[l] ??= []).push(p.name);
  return acc;
}, {});
console.log(Object.fromEntries(Object.entries(byLang).map(([k, v]) => [k, v.length])));
`,
  "generators, iterables, switch and closures": `
function* range(start, end, step = 1) {
  for (let i = start; i < end; i += step) yield i;
}
const evens = {
  *[Symbol.iterator]() { for (const n of range(0, 10)) if (n % 2 === 0) yield n; },
  get size() { return 5; },
};
function makeCounter() {
  let count = 0;
  return { increment: () => ++count, get value() { return count; } };
}
function grade(score) {
  switch (true) {
    case score >= 90: return "A";
    case score >= 80: return "B";
    default: return "C";
  }
}
const counter = makeCounter();
counter.increment(); counter.increment();
let i = 0;
do { i++; } while (i < 3);
console.log([...evens], evens.size, counter.value, [95, 85, 50].map(grade), i, typeof counter, Number.isInteger(4.0));
console.log((3.14159).toFixed(2), parseInt("ff", 16), "a-b-c".split("-"), [3, 1, 2].sort((a, b) => a - b), Math.round(2.5));
`,
  "promises and timers without await": `
function later(value) {
  return Promise.resolve(value);
}
async function main() {
  return [1, 2, 3].map((x) => x * 2);
}
main().then((xs) => console.log(xs));
later("later").then((v) => console.log(v));
setTimeout(() => console.log("timer"), 0);
Promise.all([later(1), later(2)]).then(([a, b]) => console.log(a + b));
`,
};
