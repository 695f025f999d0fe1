// The browser scanner's decoder, in a Web Worker so the camera preview never waits for it.
// zxing-wasm is zxing-cpp (the Qt kiosk's decoder) compiled to WebAssembly, served from this
// package (static/vendor); it replaced jsQR, which read badges at 30 cm but not at 40 cm.
// The page posts one frame at a time (an ImageBitmap, or raw RGBA pixels where this worker has
// no OffscreenCanvas) and gets back {text} or {text: null}. It posts the next frame only when
// this one is answered, so a slow machine decodes fewer frames, never stale ones.
/* global ZXingWASM */
"use strict";
importScripts("/static/vendor/zxing-reader.js");

ZXingWASM.prepareZXingModule({
  overrides: {
    // The .wasm comes from this server, never the CDN the library defaults to.
    locateFile: function (path, prefix) { return path.endsWith(".wasm") ? "/static/vendor/" + path : prefix + path; },
  },
  fireImmediately: true,
});

// As the kiosk (kiosk_client/decoder.py): QR only, the exact text, and no search for
// light-on-dark codes on every frame (badges are printed dark on light).
var EVERY_FRAME = { formats: ["QRCode"], textMode: "Plain", binarizer: "LocalAverage", tryInvert: false, maxNumberOfSymbols: 1 };
// Second looks, one every SECOND_LOOK_EVERY empty frames, taking turns, so an idle scanner
// costs little more than the every-frame look: another binarizer (reads noisy, over-sharpened
// and inverted prints), then the centre of the frame upscaled twice and three times (a far
// badge, held where the framing guide asks).
var GLOBAL = { formats: ["QRCode"], textMode: "Plain", binarizer: "GlobalHistogram", tryInvert: true, maxNumberOfSymbols: 1 };
var SECOND_LOOK_EVERY = 5;
var emptyFrames = 0;
var surface = typeof OffscreenCanvas === "undefined" ? null : new OffscreenCanvas(1, 1);
var context = surface ? surface.getContext("2d", { willReadFrequently: true }) : null;

function pixelsOf(message) {
  if (!message.bitmap) return new ImageData(new Uint8ClampedArray(message.pixels), message.width, message.height);
  surface.width = message.bitmap.width;
  surface.height = message.bitmap.height;
  context.drawImage(message.bitmap, 0, 0);
  message.bitmap.close();
  return context.getImageData(0, 0, surface.width, surface.height);
}

// The middle 1/share of the frame each way, upscaled share times (as kiosk_client/decoder.py).
function centreUpscaled(image, share) {
  if (!context || image.width < 64 || image.height < 64) return null;
  var source = new OffscreenCanvas(image.width, image.height);
  source.getContext("2d").putImageData(image, 0, 0);
  var w = Math.floor(image.width / share), h = Math.floor(image.height / share);
  surface.width = w * share;
  surface.height = h * share;
  context.imageSmoothingQuality = "high";
  context.drawImage(source, (image.width - w) >> 1, (image.height - h) >> 1, w, h, 0, 0, w * share, h * share);
  return context.getImageData(0, 0, w * share, h * share);
}

function read(image, options) {
  return ZXingWASM.readBarcodes(image, options).then(function (found) {
    for (var i = 0; i < found.length; i++) if (found[i].isValid) return found[i].text;
    return null;
  });
}

var LOOKS = 3;
function secondLook(image, turn) {
  if (turn === 0) return read(image, GLOBAL);
  var centre = centreUpscaled(image, turn + 1);  // the middle half twice, the middle third three times
  return centre ? read(centre, EVERY_FRAME) : Promise.resolve(null);
}

// {thorough: true} takes every second look at once (benchmarks/browser_decode.py, still images).
function thoroughLooks(image) {
  var turn = 0;
  function next(text) {
    if (text !== null || turn >= LOOKS) return text;
    return secondLook(image, turn++).then(next);
  }
  return next(null);
}

self.onmessage = function (event) {
  var started = performance.now();
  var image = pixelsOf(event.data);
  if (event.data.plain) {  // the every-frame look alone (the benchmark's baseline)
    read(image, EVERY_FRAME).then(function (text) { self.postMessage({ text: text, ms: performance.now() - started }); });
    return;
  }
  read(image, EVERY_FRAME)
    .then(function (text) {
      if (text !== null) { emptyFrames = 0; return text; }
      emptyFrames += 1;
      if (event.data.thorough) return thoroughLooks(image);
      if (emptyFrames % SECOND_LOOK_EVERY !== 0) return null;
      return secondLook(image, (emptyFrames / SECOND_LOOK_EVERY) % LOOKS);
    })
    .then(
      function (text) { self.postMessage({ text: text, ms: performance.now() - started }); },
      function (error) { self.postMessage({ text: null, error: String(error) }); }
    );
};

// Ready once the WebAssembly module is compiled: the page says which decoder runs only then.
ZXingWASM.getZXingModule().then(
  function () { self.postMessage({ ready: true, offscreen: surface !== null }); },
  function (error) { self.postMessage({ failed: String(error) }); }
);
