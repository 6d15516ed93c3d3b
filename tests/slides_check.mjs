#!/usr/bin/env node
// tests/slides_check.mjs DECK OUTDIR - check every slide of a built deck the
// way the audience sees it, in headless Chromium (playwright-core, from js/).
//
// DECK is the deck's index.html, as a file:// URL or a path. For every slide
// (vertical ones included), at 1280x720 and at 1920x1080, it checks that
//   - nothing on the slide reaches past the slide's box (the 1280x800 area
//     reveal.js scales to the window);
//   - no two visible boxes overlap (paragraphs, list items, headings,
//     captions, code blocks, tables and their cells, images), an element
//     and its own ancestors aside;
//   - every <img> decoded, and is drawn at a legible size: at least 300 px
//     wide or 200 px tall on screen (less only if the picture itself is
//     smaller), and at no less than 40% of its natural width;
//   - code blocks show all of their lines and columns, without scrolling;
// and saves a screenshot of each, OUTDIR/slide-NN-TITLE-WxH.png.
//
// Prints one line per problem, each naming the slide (number, title, id),
// the window size, the element and by how much, then a summary line.
// Exit status: 0 when nothing is wrong, 1 when anything is (or the deck
// could not be checked), 2 on a usage error.
//
// The browser is $CHROMIUM if set, else Debian's Chromium. $SLIDES_SCREENSHOTS
// names the sizes to screenshot, e.g. "1280x720" (the geometry is still
// checked at both), or "none"; all of them by default. The 1920x1080
// screenshots take about a third of the run time.
import { createRequire } from "node:module";
import fs from "node:fs";
import path from "node:path";
import { pathToFileURL } from "node:url";

const SIZES = [[1280, 720], [1920, 1080]];
const TOLERANCE = 2;          // px, for every geometric comparison
const MIN_WIDTH = 300;        // px on screen, or
const MIN_HEIGHT = 200;       // px on screen, for a picture bigger than that
const MIN_SHRINK = 0.4;       // of its natural width
const ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
  "--disable-dev-shm-usage"];

function usage() {
  console.error("usage: node tests/slides_check.mjs DECK-URL-OR-PATH OUTDIR");
  process.exit(2);
}

// Returns the browser to drive: $CHROMIUM, else Debian's binary, else its wrapper.
function browserPath() {
  if (process.env.CHROMIUM) return process.env.CHROMIUM;
  for (const candidate of ["/usr/lib/chromium/chromium", "/usr/bin/chromium"]) {
    if (fs.existsSync(candidate)) return candidate;
  }
  return null;
}

// Returns a file name piece made of title's words, lower case.
function slug(title) {
  const words = title.toLowerCase().normalize("NFKD").replace(/[^a-z0-9]+/g, "-").replace(/^-|-$/g, "");
  return (words.length > 40 ? words.slice(0, 40).replace(/-[^-]*$/, "") : words) || "untitled";
}

// Runs inside the page: waits until reveal.js started and every image has
// arrived (or failed), with transitions off. Returns { problems, images }:
// what went wrong at the deck level, and "decoded/all" images.
async function prepareDeck(timeoutMs) {
  const problems = [];
  const until = performance.now() + timeoutMs;
  const sleep = ms => new Promise(resolve => setTimeout(resolve, ms));
  const ready = () => window.Reveal && Reveal.isReady && Reveal.isReady();
  while (!ready() && performance.now() < until) await sleep(50);
  if (!ready()) return { problems: [`reveal.js did not start within ${timeoutMs / 1000} s`], images: "" };
  Reveal.configure({ transition: "none", backgroundTransition: "none" });
  const images = Array.from(document.images);
  while (images.some(img => !img.complete) && performance.now() < until) await sleep(50);
  await document.fonts.ready;
  const waiting = images.filter(img => !img.complete).length;
  if (waiting) problems.push(`${waiting} image(s) still loading after ${timeoutMs / 1000} s`);
  const decoded = images.filter(img => img.complete && img.naturalWidth > 0).length;
  return { problems, images: `${decoded}/${images.length}` };
}

// Runs inside the page: shows slide number index (0-based, in
// Reveal.getSlides() order) with all of its fragments, and checks it.
// Returns { title, hash, problems }: hash is the slide's address in the deck.
async function checkSlide({ index, tolerance, minWidth, minHeight, minShrink }) {
  const slide = Reveal.getSlides()[index];
  const { h, v } = Reveal.getIndices(slide);
  Reveal.slide(h, v);
  while (Reveal.nextFragment()) { /* show every fragment */ }
  Reveal.layout();
  const images = Array.from(slide.querySelectorAll("img"));
  const until = performance.now() + 5000;
  while (images.some(img => !img.complete) && performance.now() < until) {
    await new Promise(resolve => setTimeout(resolve, 50));
  }
  await new Promise(resolve => requestAnimationFrame(() => requestAnimationFrame(resolve)));

  const heading = slide.querySelector("h1, h2, h3");
  const title = heading ? heading.textContent.replace(/\s+/g, " ").trim() : "(untitled)";
  const problems = [];
  if (Reveal.getCurrentSlide() !== slide) problems.push("reveal.js did not show this slide");
  const px = n => `${Math.round(n)} px`;

  // "<tag> "first words"" or "<img> src", to find the element in slides.md.
  const describe = element => {
    const tag = element.tagName.toLowerCase();
    if (tag === "img") {
      return `<img> ${element.getAttribute("src") || element.getAttribute("data-src") || "(no src)"}`;
    }
    // A code block by its first line, anything else by its first words.
    const whole = element.textContent || "";
    let text = (tag === "pre" ? whole.trim().split("\n")[0] : whole).replace(/\s+/g, " ").trim();
    if (text.length > 48) text = text.slice(0, 47) + "…";
    return text ? `<${tag}> "${text}"` : `<${tag}>`;
  };
  const visible = element => element.checkVisibility({ opacityProperty: true, visibilityProperty: true });
  // The part of element's box that is drawn: its rect cut by every
  // ancestor (up to the slide) that clips its overflow. null when empty.
  const drawnRect = element => {
    const rect = element.getBoundingClientRect();
    let { left, top, right, bottom } = rect;
    for (let up = element.parentElement; up && up !== slide.parentElement; up = up.parentElement) {
      const style = getComputedStyle(up);
      if (style.overflowX === "visible" && style.overflowY === "visible") continue;
      const clip = up.getBoundingClientRect();
      if (style.overflowX !== "visible") { left = Math.max(left, clip.left); right = Math.min(right, clip.right); }
      if (style.overflowY !== "visible") { top = Math.max(top, clip.top); bottom = Math.min(bottom, clip.bottom); }
    }
    return right - left >= 1 && bottom - top >= 1 ? { left, top, right, bottom } : null;
  };

  // The slide's box: the section is as wide as the 1280x800 area reveal.js
  // scales, but it grows with its content, so the height is that area's.
  const area = document.querySelector(".reveal .slides").getBoundingClientRect();
  const own = slide.getBoundingClientRect();
  const box = { left: own.left, right: own.right, top: area.top, bottom: area.bottom };

  // Every visible element with the part of it that is drawn. A text box,
  // code block, table or picture ("leafish") is judged by its ink: its own
  // box joined with whatever its content draws outside it (the lines of a
  // code block that spill out of it, a word too long for its line).
  const LEAFISH = "h1, h2, h3, h4, h5, h6, p, li, dt, dd, blockquote, figcaption, caption, em, " +
    "pre, table, th, td, img, svg, video, canvas, iframe";
  const leafishAbove = element => {
    const up = element.parentElement && element.parentElement.closest(LEAFISH);
    return up && slide.contains(up) ? up : null;
  };
  const drawn = new Map();   // element -> { rect, ink, leafish }
  for (const element of slide.querySelectorAll("*")) {
    if (!visible(element)) continue;
    const rect = drawnRect(element);
    if (rect) drawn.set(element, { rect, ink: { ...rect }, leafish: element.matches(LEAFISH) });
  }
  for (const [element, { rect }] of drawn) {
    for (let up = leafishAbove(element); up; up = leafishAbove(up)) {
      const owner = drawn.get(up);
      if (!owner) continue;
      owner.ink.left = Math.min(owner.ink.left, rect.left);
      owner.ink.top = Math.min(owner.ink.top, rect.top);
      owner.ink.right = Math.max(owner.ink.right, rect.right);
      owner.ink.bottom = Math.max(owner.ink.bottom, rect.bottom);
    }
  }

  // 1. Nothing past the slide's box: each outermost text box, code block,
  // table or picture, and anything drawn outside all of them.
  const outside = rect => [["left", box.left - rect.left], ["right", rect.right - box.right],
    ["top", box.top - rect.top], ["bottom", rect.bottom - box.bottom]].filter(([, by]) => by > tolerance);
  const reported = [];
  for (const [element, item] of drawn) {
    if (leafishAbove(element)) continue;
    if (!item.leafish && (element.querySelector(LEAFISH) || reported.some(up => up.contains(element)))) continue;
    const sides = outside(item.ink);
    if (!sides.length) continue;
    reported.push(element);
    const where = sides.map(([side, by]) => `${px(by)} past the ${side} edge`).join(", ");
    const whose = outside(item.rect).length ? "" : ": its content";
    problems.push(`${describe(element)}${whose} reaches ${where} of the slide`);
  }

  // 2. No text box, code block, table or picture drawn over another.
  const boxes = Array.from(drawn).filter(([, item]) => item.leafish);
  const overlaps = [];
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const [a, { ink: inkA }] = boxes[i], [b, { ink: inkB }] = boxes[j];
      if (a.contains(b) || b.contains(a)) continue;
      const width = Math.min(inkA.right, inkB.right) - Math.max(inkA.left, inkB.left);
      const height = Math.min(inkA.bottom, inkB.bottom) - Math.max(inkA.top, inkB.top);
      if (width <= tolerance || height <= tolerance) continue;
      // One message per pair of outermost boxes (not one more per <em> in them).
      if (overlaps.some(([x, y]) => (x.contains(a) && y.contains(b)) || (x.contains(b) && y.contains(a)))) continue;
      overlaps.push([a, b]);
      problems.push(`${describe(a)} and ${describe(b)} are drawn over each other: ${px(width)} x ${px(height)}`);
    }
  }

  // 3. Pictures decoded, and legible.
  for (const img of images) {
    if (!(img.complete && img.naturalWidth > 0)) {
      problems.push(`${describe(img)} did not load or decode`);
      continue;
    }
    if (!visible(img)) continue;
    const rect = img.getBoundingClientRect();
    const needWidth = Math.min(minWidth, img.naturalWidth), needHeight = Math.min(minHeight, img.naturalHeight);
    if (rect.width < needWidth - 0.5 && rect.height < needHeight - 0.5) {
      problems.push(`${describe(img)} is drawn ${px(rect.width)} x ${px(rect.height)}: ` +
        `neither ${needWidth} px wide nor ${needHeight} px tall`);
    }
    if (rect.width < minShrink * img.naturalWidth - 0.5) {
      problems.push(`${describe(img)} is drawn ${px(rect.width)} wide, ` +
        `${Math.round(100 * rect.width / img.naturalWidth)}% of its natural ${img.naturalWidth} px ` +
        `(at least ${Math.round(100 * minShrink)}%, ${px(minShrink * img.naturalWidth)}, to stay legible)`);
    }
  }

  // 4. Code blocks show all of their lines without scrolling, and none
  // spill out (sizes in the 1280x800 slide's own pixels, before reveal.js
  // scales it). One message per block and direction, for the worst of the
  // <pre>, its <code> and pandoc's <div class="sourceCode"> around it.
  for (const pre of slide.querySelectorAll("pre")) {
    if (!visible(pre)) continue;
    const parts = [pre, ...pre.querySelectorAll(":scope > code")];
    if (pre.parentElement.matches("div.sourceCode")) parts.push(pre.parentElement);
    for (const [axis, scroll, client, overflow, what] of [
      ["down", "scrollHeight", "clientHeight", "overflowY", "lines"],
      ["across", "scrollWidth", "clientWidth", "overflowX", "columns"]]) {
      let worst = null;
      for (const part of parts) {
        const by = part[scroll] - part[client];
        if (by > tolerance && (!worst || by > worst.by)) worst = { part, by };
      }
      if (!worst) continue;
      const { part, by } = worst;
      const name = part === pre ? "" : ` (its ${part.tagName.toLowerCase()}${part === pre.parentElement ? ".sourceCode" : ""})`;
      const how = getComputedStyle(part)[overflow] === "visible"
        ? `${by} px of its ${what} spill out of its ${part[client]} px box`
        : `scrolls, ${by} px of its ${what} hidden in a ${part[client]} px box`;
      problems.push(`${describe(pre)}${name} does not fit ${axis === "down" ? "vertically" : "horizontally"}: ` +
        `${how} (${part[scroll]} px needed, slide px)`);
    }
  }
  return { title, hash: slide.id ? `#/${slide.id}` : `#/${h}/${v}`, problems };
}

async function checkSize(browser, url, outdir, [width, height]) {
  const size = `${width}x${height}`;
  const page = await browser.newPage({ viewport: { width, height }, deviceScaleFactor: 1 });
  const deck = [];
  page.on("pageerror", error => deck.push(`JavaScript error: ${error.message}`));
  await page.goto(url, { waitUntil: "load", timeout: 30000 });
  const prepared = await page.evaluate(prepareDeck, 15000);
  deck.push(...prepared.problems);
  const count = prepared.images ? await page.evaluate(() => Reveal.getSlides().length) : 0;
  // Screenshots through the DevTools protocol: Chromium's fast PNG
  // encoder takes about half the time of page.screenshot()'s.
  const devtools = await page.context().newCDPSession(page);
  const wanted = process.env.SLIDES_SCREENSHOTS || "all";
  const shoot = wanted === "all" || wanted.split(/[ ,]+/).includes(size);
  const slides = [];
  let shots = 0;
  for (let index = 0; index < count; index++) {
    const result = await page.evaluate(checkSlide, {
      index, tolerance: TOLERANCE, minWidth: MIN_WIDTH, minHeight: MIN_HEIGHT, minShrink: MIN_SHRINK,
    });
    const number = String(index + 1).padStart(2, "0");
    const file = path.join(outdir, `slide-${number}-${slug(result.title)}-${size}.png`);
    if (!shoot) { slides.push({ ...result, number: index + 1 }); continue; }
    const { data } = await devtools.send("Page.captureScreenshot", { format: "png", optimizeForSpeed: true });
    fs.writeFileSync(file, Buffer.from(data, "base64"));
    slides.push({ ...result, number: index + 1, file });
    shots++;
  }
  await page.close();
  return { size, deck, slides, shots, images: prepared.images };
}

async function main() {
  const [deckArg, outdir] = process.argv.slice(2);
  if (!deckArg || !outdir || process.argv.length > 4) usage();
  const url = /^[a-z]+:\/\//.test(deckArg) ? deckArg : pathToFileURL(path.resolve(deckArg)).href;
  const executablePath = browserPath();
  if (!executablePath) {
    console.error("slides check: Chromium is not installed (/usr/lib/chromium/chromium, /usr/bin/chromium; or set CHROMIUM)");
    return 1;
  }
  const require = createRequire(new URL("../js/package.json", import.meta.url));
  const { chromium } = require("playwright-core");

  fs.mkdirSync(outdir, { recursive: true });
  // An old screenshot must not pass for a new one.
  for (const name of fs.readdirSync(outdir)) {
    if (/^slide-\d+-.*-\d+x\d+\.png$/.test(name)) fs.rmSync(path.join(outdir, name));
  }

  const started = Date.now();
  const browser = await chromium.launch({ executablePath, args: ARGS, headless: true, timeout: 30000 });
  let results;
  try {
    // Both sizes at once, each in its own page.
    results = await Promise.all(SIZES.map(size => checkSize(browser, url, outdir, size)));
  } finally {
    await browser.close();
  }

  const lines = [];
  for (const { size, deck } of results) for (const problem of deck) lines.push(`FAIL: deck at ${size}: ${problem}`);
  const counts = results.map(result => result.slides.length);
  if (new Set(counts).size > 1) lines.push(`FAIL: deck: ${counts.join(" vs ")} slides at the different sizes`);
  if (Math.max(...counts) === 0) lines.push("FAIL: deck: no slides found");
  const slideCount = Math.max(...counts);
  for (let index = 0; index < slideCount; index++) {
    for (const { size, slides } of results) {
      const slide = slides[index];
      if (!slide) continue;
      for (const problem of slide.problems) {
        lines.push(`FAIL: slide ${slide.number} "${slide.title}" (${slide.hash}) at ${size}: ${problem}`);
      }
    }
  }
  for (const line of lines) console.log(line);
  const shots = results.reduce((sum, result) => sum + result.shots, 0);
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  const images = [...new Set(results.map(result => result.images || "?"))].join(" vs ");
  console.log(`slides check: ${slideCount} slides x ${SIZES.length} sizes, images decoded ${images}, ` +
    `${lines.length} problem${lines.length === 1 ? "" : "s"} (${seconds} s)\n` +
    `  ${shots} screenshots in ${outdir}`);
  return lines.length ? 1 : 0;
}

main().then(status => process.exit(status), error => {
  console.error(`slides check: FAIL: could not check the deck: ${error.stack || error}`);
  process.exit(1);
});
