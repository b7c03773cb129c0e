// screenshot.mjs: open every rendered deck in headless Chromium, screenshot each
// slide, and report per slide whether it shows anything and whether its content
// spills over the slide's edges. Prints one JSON object; the test judges it.
//
//   node slides/screenshot.mjs HTML_DIR SHOT_DIR [BROWSER]
//
// Slides are reached through the bespoke template's own navigation (#N in the
// URL), the way a person clicking through the deck sees them.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import puppeteer from "puppeteer-core";

const [htmlDir, shotDir, browserPath = "/usr/bin/chromium"] = process.argv.slice(2);
const WIDTH = 1280, HEIGHT = 720;
const MIN_LINE_HEIGHT = 15; // px on a 1280x720 slide; a dense slide's code has 18
const FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

// In the deck's page: the slide now shown (bespoke marks it active), and what
// overflows it.
function inspectSlide(MIN_LINE_HEIGHT) {
  const shown = document.querySelectorAll("svg[data-marpit-svg].bespoke-marp-active");
  const section = shown.length === 1 ? shown[0].querySelector("section") : null;
  if (!section) return { shown: shown.length, overflow: [] };
  const overflow = [];
  if (section.scrollHeight > section.clientHeight + 1)
    overflow.push(`content is ${section.scrollHeight - section.clientHeight}px taller than the slide`);
  for (const pre of section.querySelectorAll("pre, marp-pre")) {
    // Marp shrinks a long listing to fit: too many lines make it unreadable.
    const lines = pre.textContent.replace(/\n$/, "").split("\n").length;
    const lineHeight = pre.getBoundingClientRect().height / lines;
    if (lines > 3 && lineHeight < MIN_LINE_HEIGHT)
      overflow.push(`a listing of ${lines} lines is shrunk to ${lineHeight.toFixed(1)}px a line ` +
        `(at least ${MIN_LINE_HEIGHT}px reads well): split it`);
    if (pre.scrollWidth > pre.clientWidth + 1)
      overflow.push(`a code line is ${pre.scrollWidth - pre.clientWidth}px too wide: ` +
        JSON.stringify(pre.textContent.split("\n").reduce((a, b) => (b.length > a.length ? b : a))));
  }
  return { shown: 1, id: section.id, overflow };
}

// In a blank page: how many distinct colours an image has (sampled on a grid).
async function countColours(dataUrl) {
  const image = new Image();
  image.src = dataUrl;
  await image.decode();
  const canvas = document.createElement("canvas");
  canvas.width = image.width;
  canvas.height = image.height;
  const context = canvas.getContext("2d");
  context.drawImage(image, 0, 0);
  const pixels = context.getImageData(0, 0, image.width, image.height).data;
  const colours = new Set();
  for (let y = 0; y < image.height; y += 3)
    for (let x = 0; x < image.width; x += 3) {
      const i = (y * image.width + x) * 4;
      colours.add((pixels[i] << 16) | (pixels[i + 1] << 8) | pixels[i + 2]);
    }
  return colours.size;
}

async function main() {
  fs.mkdirSync(shotDir, { recursive: true });
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), "socklab-chromium-"));
  const browser = await puppeteer.launch({
    executablePath: browserPath, headless: true, ignoreDefaultArgs: true,
    args: [...FLAGS, `--user-data-dir=${profile}`, "--remote-debugging-pipe",
      `--window-size=${WIDTH},${HEIGHT}`, "about:blank"],
    pipe: true, defaultViewport: { width: WIDTH, height: HEIGHT },
  });
  const report = {};
  try {
    const scratch = await browser.newPage();
    const page = await browser.newPage();
    for (const file of fs.readdirSync(htmlDir).filter((f) => /^\d\d-.*\.html$/.test(f)).sort()) {
      const deck = path.basename(file, ".html");
      const url = "file://" + path.resolve(htmlDir, file);
      await page.goto(url, { waitUntil: "load" });
      // The on-screen controls are for people, not for the screenshots.
      await page.addStyleTag({ content: ".bespoke-marp-osc { display: none !important; }" });
      const count = await page.$$eval("svg[data-marpit-svg]", (all) => all.length);
      report[deck] = [];
      for (let n = 1; n <= count; n++) {
        await page.evaluate((hash) => { location.hash = hash; }, `#${n}`);
        await page.evaluate(() => new Promise((done) =>
          requestAnimationFrame(() => requestAnimationFrame(done))));
        const seen = await page.evaluate(inspectSlide, MIN_LINE_HEIGHT);
        const shot = path.join(shotDir, `${deck}-${String(n).padStart(2, "0")}.png`);
        const png = await page.screenshot({ encoding: "base64" });
        fs.writeFileSync(shot, Buffer.from(png, "base64"));
        const colours = await scratch.evaluate(countColours, `data:image/png;base64,${png}`);
        report[deck].push({ slide: n, screenshot: shot, colours, ...seen });
      }
    }
  } finally {
    await browser.close();
    fs.rmSync(profile, { recursive: true, force: true });
  }
  process.stdout.write(JSON.stringify(report, null, 1) + "\n");
}

main().catch((error) => {
  console.error(`screenshot: ${error.stack || error}`);
  process.exit(1);
});
