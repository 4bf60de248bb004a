// Bundles the web chat into dist/ (ignored by git): app.js with its npm packages inside, the page,
// its stylesheet and icon, and config.json when scripts/deploy/configure.sh has written one (a deployment's);
// the local web front serves its own config.json instead.
//   usage: node build.mjs     (scripts/build-webchat.sh installs the packages first)
import { copyFileSync, existsSync, mkdirSync, rmSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import * as esbuild from "esbuild";

const here = dirname(fileURLToPath(import.meta.url));
const out = join(here, "dist");
rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
await esbuild.build({
  entryPoints: [join(here, "src", "main.js")],
  outfile: join(out, "app.js"),
  bundle: true,
  format: "esm",
  target: ["es2020"],
  minify: true,
  sourcemap: false,
  legalComments: "linked",
  logLevel: "warning",
});
for (const file of ["index.html", "style.css", "favicon.svg"]) copyFileSync(join(here, file), join(out, file));
if (existsSync(join(here, "config.json"))) copyFileSync(join(here, "config.json"), join(out, "config.json"));
