// `npm install` in a folder, tolerating a registry mirror that lags behind what the packages ask
// for. When npm reports that no version of a package matches (ETARGET, or a 404 for an exact
// pin), that package is overridden with the newest version the registry has — or an empty local
// package when it has none — and the install is retried. Each substitution is one line on stderr;
// the npm output goes to install.log.
//   usage: node scripts/npm-install-lagging.js DIR [EXTRA_NPM_ARGS...]
//   env:   NPM_TIMEOUT_SECONDS (default 900) bounds each npm call
"use strict";
const fs = require("fs");
const path = require("path");
const { spawnSync } = require("child_process");

const [dir, ...extra] = process.argv.slice(2);
if (!dir || dir === "-h" || dir === "--help") {
  const header = fs.readFileSync(__filename, "utf8").split("\n").filter((l) => l.startsWith("//"));
  process.stdout.write(header.map((l) => l.replace(/^\/\/ ?/, "")).join("\n") + "\n");
  process.exit(dir ? 0 : 2);
}
const timeout = Number(process.env.NPM_TIMEOUT_SECONDS || 900) * 1000;
const pkgFile = path.join(dir, "package.json");
const logFile = path.join(dir, "install.log");
const MAX_ROUNDS = 10;

function npm(args) {
  const r = spawnSync("npm", args, { cwd: dir, encoding: "utf8", timeout });
  fs.appendFileSync(logFile, `$ npm ${args.join(" ")}\n${r.stdout || ""}${r.stderr || ""}\n`);
  if (r.error) throw new Error(`npm ${args[0]} did not finish: ${r.error.message}`);
  return r;
}

function newestVersion(name) {
  const r = npm(["view", name, "versions", "--json"]);
  if (r.status !== 0) return null;
  const versions = JSON.parse(r.stdout || "[]");
  return Array.isArray(versions) ? versions[versions.length - 1] : versions || null;
}

function stub(name, version) {
  const stubDir = path.join(dir, "stubs", name.replace("/", "__"));
  fs.mkdirSync(stubDir, { recursive: true });
  fs.writeFileSync(path.join(stubDir, "package.json"), JSON.stringify({ name, version, main: "index.js" }));
  fs.writeFileSync(path.join(stubDir, "index.js"), "module.exports = {};\n");
  return `file:${stubDir}`;
}

fs.writeFileSync(logFile, "");
for (let round = 0; round < MAX_ROUNDS; round++) {
  const r = npm(["install", "--install-links", "--ignore-scripts", "--no-fund", "--no-audit", ...extra]);
  if (r.status === 0) process.exit(0);
  const out = `${r.stdout}\n${r.stderr}`;
  const m =
    /No matching version found for (@?[^@\s]+)@(\S+?)\.?\s/.exec(out) ||
    /The requested resource '(@?[^@']+)@([^']+)' could not be found/.exec(out);
  if (!m) {
    process.stderr.write(`npm install failed (see ${logFile})\n`);
    process.exit(1);
  }
  const [, name, wanted] = m;
  const pkg = JSON.parse(fs.readFileSync(pkgFile, "utf8"));
  pkg.overrides = pkg.overrides || {};
  if (pkg.overrides[name]) {
    process.stderr.write(`still no usable version of ${name} after substituting it (see ${logFile})\n`);
    process.exit(1);
  }
  const newest = newestVersion(name);
  const spec = newest || stub(name, wanted.replace(/^[^\d]*/, "") || "0.0.0");
  // A direct dependency must agree with its override, so both are set.
  if (pkg.dependencies && pkg.dependencies[name]) pkg.dependencies[name] = spec;
  pkg.overrides[name] = spec;
  fs.writeFileSync(pkgFile, JSON.stringify(pkg, null, 1));
  fs.rmSync(path.join(dir, "package-lock.json"), { force: true });
  process.stderr.write(
    `the registry lacks ${name}@${wanted}; using ${newest ? newest : "an empty stand-in package"} instead\n`,
  );
}
process.stderr.write(`gave up after ${MAX_ROUNDS} substitutions (see ${logFile})\n`);
process.exit(1);
