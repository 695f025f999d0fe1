// The browser badge scanner: camera -> decode in this page -> exchange -> welcome -> dashboard.
// Frames never leave the browser; only the text of a QR code that looks like one of our badges
// is sent. Decoding runs zxing-cpp compiled to WebAssembly (vendored zxing-wasm) in a Web
// Worker; the browser's BarcodeDetector only where WebAssembly cannot run.
// On a device no admin enrolled (a family's laptop, tablet or phone) it signs in at home
// (POST /scan/home) where the district allows it, and says so kindly where it does not.
(function () {
  "use strict";
  var root = document.getElementById("scanner");
  var lang = (navigator.language || "en").slice(0, 2);
  var allStrings = JSON.parse(root.dataset.strings);
  var strings = allStrings[lang] || allStrings.en;
  // The page speaks the browser's language where it can (English, Spanish, Arabic), right to left for Arabic.
  if (!allStrings[lang]) lang = "en";
  document.documentElement.lang = lang;
  if (JSON.parse(root.dataset.rightToLeft).indexOf(lang) >= 0) document.documentElement.dir = "rtl";
  Array.prototype.forEach.call(document.querySelectorAll("[data-say]"), function (element) {
    element.textContent = strings[element.dataset.say];
  });
  var looks = JSON.parse(root.dataset.looks);
  var badgePattern = new RegExp(root.dataset.badgePattern);
  var TOKEN_KEY = "badgeDeviceToken";
  // Pause between decodes. The worker decodes off the page's thread and one frame at a time,
  // so a slow Chromebook simply decodes fewer frames; ~10 tries a second give a far badge more chances.
  var SCAN_INTERVAL_MS = 60;
  var TOO_DARK_LEVEL = 35;    // mean brightness 0-255, as the Qt kiosk's default too_dark_level
  var dark = false;
  var lastLightCheck = 0;
  var MESSAGE_MS = 3000;
  var CHECK_IN_MS = 120000;  // as the kiosk (kiosk_client/app.py CHECK_IN_SECONDS)
  var checkingIn = null;
  var video = document.getElementById("camera");
  var canvas = document.getElementById("frame");
  var context = canvas.getContext("2d", { willReadFrequently: true });
  var detector = null;
  var busy = false;           // an exchange is in flight, or a welcome is showing
  var enrolling = false;      // not a scanner yet: only a set-up link's QR code is looked for
  var home = false;           // a family's device: badges sign in here directly, no enrolment
  var pausedUntil = 0;        // after a message, let the child move the badge away
  var lastText = "";
  var lastTextAt = 0;
  var pendingBadge = "";
  var pin = "";
  var audio = null;

  // A cart enrolment link (/scan/enrol#<token>): the token is in the fragment, which the browser
  // never sends to the server or in a Referer; it leaves the address bar and history at once.
  var linkToken = "";
  if (window.location.pathname === "/scan/enrol" && window.location.hash.length > 1) {
    linkToken = decodeURIComponent(window.location.hash.slice(1));
    window.history.replaceState(null, "", "/scan");
  }
  // IT opens /scan/enrol (no link) to set a school scanner up by typing a code; plain /scan on a
  // device that is not a scanner is a family's device, signing in at home.
  var wantSetup = window.location.pathname === "/scan/enrol" && !linkToken;

  function token() { return window.localStorage.getItem(TOKEN_KEY); }
  function say(key, values) {
    var text = strings[key] || allStrings.en[key] || key;
    Object.keys(values || {}).forEach(function (name) { text = text.replace("{" + name + "}", values[name]); });
    return text;
  }

  function show(state, values, hint) {
    var look = looks[state] || looks.ready;
    var shape = document.getElementById("status-shape");
    shape.textContent = look[0];
    shape.className = "shape " + look[1];
    root.style.setProperty("--look", look[2]);
    document.getElementById("status-text").textContent = say(state, values);
    document.getElementById("status-hint").textContent = hint || "";
    root.dataset.state = state;
  }

  function panel(id) {
    ["welcome", "pin-panel", "enroll-panel", "permission-panel"].forEach(function (name) {
      document.getElementById(name).hidden = name !== id;
    });
  }

  // Sounds made here, not fetched: a rising pair for "welcome", one low note for "no".
  function beep(kind) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      var notes = kind === "welcome" ? [[660, 0], [880, 0.14]] : [[220, 0]];
      notes.forEach(function (note) {
        var osc = audio.createOscillator();
        var gain = audio.createGain();
        osc.frequency.value = note[0];
        gain.gain.setValueAtTime(0.18, audio.currentTime + note[1]);
        gain.gain.exponentialRampToValueAtTime(0.001, audio.currentTime + note[1] + 0.25);
        osc.connect(gain).connect(audio.destination);
        osc.start(audio.currentTime + note[1]);
        osc.stop(audio.currentTime + note[1] + 0.3);
      });
    } catch (err) { /* no sound is not a reason to fail a sign-in */ }
  }

  function idle() {
    if (dark) show("too_dark");
    else show("ready", null, say("ready_hint"));
  }

  function message(state, values, ms) {
    show(state, values);
    beep("error");
    pausedUntil = Date.now() + (ms || MESSAGE_MS);
    setTimeout(function () { if (!busy && Date.now() >= pausedUntil) idle(); }, ms || MESSAGE_MS);
  }

  function api(path, body, useToken) {
    var headers = { "Content-Type": "application/json" };
    if (useToken && token()) headers.Authorization = "Bearer " + token();
    return fetch(path, { method: "POST", headers: headers, body: JSON.stringify(body || {}), credentials: "same-origin" })
      .then(function (response) {
        return response.json().catch(function () { return {}; }).then(function (data) {
          return { status: response.status, data: data, retryAfter: Number(response.headers.get("Retry-After") || 0) };
        });
      });
  }

  // ---- device: proven on every start (which also renews the launch link's cookie) ----
  // Without a stored token the cookie alone may prove it (storage cleared, cookie kept).
  function proveDevice() {
    var stored = token();
    api("/scan/device", {}, true).then(function (reply) {
      if (reply.status === 200) {
        linkToken = "";  // already a scanner: a link opened again must not enrol it twice
        document.getElementById("device-name").textContent = reply.data.name + (reply.data.school ? " · " + reply.data.school : "");
        startCamera();
        // Every few minutes, used or not: IT's monitoring tells a scanner that is off from one nobody used.
        if (!checkingIn) checkingIn = setInterval(function () { api("/scan/device", {}, true).catch(function () {}); }, CHECK_IN_MS);
      } else if (reply.status === 401 && stored) {
        linkToken = "";  // disabled by an admin: a link pushed again must not undo that by itself
        window.localStorage.removeItem(TOKEN_KEY);
        showEnroll("This computer is no longer set up as a scanner (it may have been disabled). Enrol it again.");
      } else if (reply.status === 401 && linkToken) {
        enrolWithLink();
      } else if (reply.status === 401 && wantSetup) {
        showEnroll("");
      } else if (reply.status === 401) {
        checkHome();
      } else {
        show("unreachable");
        setTimeout(proveDevice, 5000);
      }
    }, function () { show("unreachable"); setTimeout(proveDevice, 5000); });
  }

  // ---- at home: never enrolled, and no set-up link ----
  function checkHome() {
    fetch("/scan/home/available", { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        home = true;
        document.getElementById("setup-link").hidden = false;
        if (data.available) { startCamera(); } else { busy = true; show("home_off"); }
      }, function () { show("unreachable"); setTimeout(proveDevice, 5000); });
  }

  document.getElementById("setup-link").addEventListener("click", function () {
    home = false;
    document.getElementById("setup-link").hidden = true;
    showEnroll("");
  });

  function enrolWithLink() {
    show("reading");
    api("/scan/enrol-link", { token: linkToken }, false).then(function (reply) {
      if (reply.status === 200) {
        linkToken = "";
        window.localStorage.setItem(TOKEN_KEY, reply.data.device_token);
        proveDevice();
      } else if (reply.status === 403 || reply.status === 400) {
        refusedLinks[linkToken] = true;
        linkToken = "";  // refused for good (revoked, expired, used up): say so, offer the code
        showEnroll((reply.data.error && reply.data.error.message) || "This set-up link does not work. Ask IT for a new one.");
      } else {
        show("unreachable");
        setTimeout(enrolWithLink, 5000);
      }
    }, function () { show("unreachable"); setTimeout(enrolWithLink, 5000); });
  }

  function showEnroll(error) {
    enrolling = true;
    busy = false;
    panel("enroll-panel");
    show("not_enrolled");
    var box = document.getElementById("enroll-error");
    box.textContent = error;
    box.hidden = !error;
    document.getElementById("enroll-code").focus();
    watchForSetupCode();
  }

  // Not yet a scanner: the camera looks for the QR code of a set-up link (printed from the
  // console), so a Chromebook's sign-in screen, where nobody can open a link, enrols when the
  // sheet is held up to it. Any other code is ignored; nothing but that link's token is sent.
  var setupPattern = new RegExp("^" + window.location.origin.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&") + "/scan/enrol#([A-Za-z0-9_-]{20,128})$");
  var refusedLinks = {};
  function onSetupText(text) {
    var found = setupPattern.exec(text);
    if (!found || refusedLinks[found[1]] || linkToken) return;
    linkToken = found[1];
    busy = true;
    panel(null);
    enrolWithLink();
  }

  function watchForSetupCode() {
    openCamera().catch(function () { /* no camera: typing a code still works */ });
  }

  document.getElementById("enroll-form").addEventListener("submit", function (event) {
    event.preventDefault();
    var form = event.target;
    // (form.name would be the form's own name attribute, hence the ids)
    var code = document.getElementById("enroll-code").value.trim();
    var name = document.getElementById("enroll-name").value.trim();
    api("/api/v1/devices/enroll", { code: code, name: name }, false).then(function (reply) {
      if (reply.status === 200) {
        window.localStorage.setItem(TOKEN_KEY, reply.data.device_token);
        wantSetup = false;
        window.history.replaceState(null, "", "/scan");  // a scanner now: its address is /scan
        form.reset();
        panel(null);
        proveDevice();
      } else {
        showEnroll((reply.data.error && reply.data.error.message) || "That did not work (HTTP " + reply.status + ").");
      }
    }, function () { showEnroll("The server cannot be reached. Check the network and try again."); });
  });

  // ---- camera ----
  var cameraOn = false;       // the stream is playing and the scan loop runs
  var cameraOpening = null;   // one request for the camera at a time (set-up mode, then scanning)
  function openCamera() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      return Promise.reject({ name: "NoMediaDevices" });
    }
    if (!cameraOpening) {
      // At home, a phone or tablet is held up to the badge: its rear camera, where it has one.
      var facing = home ? { ideal: "environment" } : "user";
      cameraOpening = navigator.mediaDevices.getUserMedia({ video: { facingMode: facing, width: { ideal: 1920 }, height: { ideal: 1080 } }, audio: false })
        .then(function (stream) {
          video.srcObject = stream;
          var track = stream.getVideoTracks()[0];
          var settings = track && track.getSettings ? track.getSettings() : {};
          video.classList.toggle("rear", settings.facingMode === "environment");  // no mirror
          return video.play();
        })
        .then(chooseDecoder)
        .then(function () {
          if (!cameraOn) { cameraOn = true; scanLoop(); }
        });
      cameraOpening.catch(function () { cameraOpening = null; });  // a later start tries again
    }
    return cameraOpening;
  }

  function startCamera() {
    panel(null);
    enrolling = false;
    busy = false;
    if (cameraOn) { idle(); return; }
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      show("no_camera", null, "This browser cannot use a camera here (the page must be opened over https).");
      return;
    }
    openCamera()
      .then(function () { if (!enrolling) idle(); })
      .catch(function (err) {
        if (err && (err.name === "NotAllowedError" || err.name === "SecurityError")) {
          panel("permission-panel");
          show("no_permission");
        } else {
          show("no_camera", null, err && err.name === "NotFoundError" ? "No camera was found." : "The camera did not start.");
          setTimeout(startCamera, 5000);
        }
      });
  }

  document.getElementById("permission-retry").addEventListener("click", function () { window.location.reload(); });

  // The decoder: zxing-wasm in a Web Worker (static/scan-worker.js) wherever WebAssembly runs,
  // which is every current browser. The browser's own BarcodeDetector (ChromeOS, macOS, Android)
  // is only the fallback: it has not been measured to read as far as zxing-cpp, and zxing-wasm
  // has (benchmarks/browser_decode.py).
  var decoder = null;         // { name, decode() -> Promise of the text or null }
  var WORKER_START_MS = 20000;
  function chooseDecoder() {
    if (decoder) return Promise.resolve();
    return startWorker().catch(function (why) {
      root.dataset.decoderProblem = String(why);
      return barcodeDetector();
    }).then(function (chosen) {
      decoder = chosen;
      root.dataset.decoder = chosen ? chosen.name : "none";
      if (!chosen) show("no_camera", null, "This browser cannot read badges. Use a current Chrome, Edge, Firefox or Safari.");
    });
  }

  function startWorker() {
    return new Promise(function (resolve, reject) {
      if (!window.Worker || !window.WebAssembly) { reject("no Web Worker or WebAssembly"); return; }
      var worker = new Worker("/static/scan-worker.js");
      var answer = null;      // the decode waiting for the worker's reply
      var give = function (text) { var resolveDecode = answer; answer = null; if (resolveDecode) resolveDecode(text); };
      var late = setTimeout(function () { worker.terminate(); reject("the decoder did not start"); }, WORKER_START_MS);
      worker.onerror = function (event) {
        clearTimeout(late);
        give(null);
        reject(event.message || "the decoder failed");
      };
      worker.onmessage = function (event) {
        var reply = event.data;
        if (reply.failed) { clearTimeout(late); worker.terminate(); reject(reply.failed); return; }
        if (reply.ready) { clearTimeout(late); resolve(workerDecoder(worker, reply.offscreen, function (resolveDecode) { answer = resolveDecode; })); return; }
        give(reply.text || null);
      };
    });
  }

  // One frame at a time goes to the worker: an ImageBitmap (copied off the page's thread) where
  // the worker can draw it, else the pixels from this page's canvas, handed over without a copy.
  function workerDecoder(worker, offscreen, awaitAnswer) {
    function frame() {
      if (offscreen && window.createImageBitmap) {
        return window.createImageBitmap(video).then(function (bitmap) { return [{ bitmap: bitmap }, [bitmap]]; });
      }
      canvas.width = video.videoWidth;
      canvas.height = video.videoHeight;
      context.drawImage(video, 0, 0);
      var image = context.getImageData(0, 0, canvas.width, canvas.height);
      return Promise.resolve([{ pixels: image.data.buffer, width: image.width, height: image.height }, [image.data.buffer]]);
    }
    return {
      name: "zxing-wasm",
      decode: function () {
        return frame().then(function (message) {
          return new Promise(function (resolve) { awaitAnswer(resolve); worker.postMessage(message[0], message[1]); });
        });
      },
    };
  }

  function barcodeDetector() {
    if (!("BarcodeDetector" in window)) return Promise.resolve(null);
    return window.BarcodeDetector.getSupportedFormats().then(function (formats) {
      if (formats.indexOf("qr_code") < 0) return null;
      var detector = new window.BarcodeDetector({ formats: ["qr_code"] });
      return {
        name: "BarcodeDetector",
        decode: function () { return detector.detect(video).then(function (codes) { return codes.length ? codes[0].rawValue : null; }); },
      };
    }, function () { return null; });
  }
  root.dataset.decoder = "pending";

  function decodeFrame() {
    return decoder ? decoder.decode() : Promise.resolve(null);
  }

  // Once a second, on a thumbnail: is the room too dark to read a badge? (Says so; still scans.)
  var thumb = document.createElement("canvas");
  thumb.width = 64;
  thumb.height = 48;
  var thumbContext = thumb.getContext("2d", { willReadFrequently: true });
  function checkLight() {
    lastLightCheck = Date.now();
    thumbContext.drawImage(video, 0, 0, thumb.width, thumb.height);
    var pixels = thumbContext.getImageData(0, 0, thumb.width, thumb.height).data;
    var sum = 0;
    for (var i = 0; i < pixels.length; i += 4) sum += 0.299 * pixels[i] + 0.587 * pixels[i + 1] + 0.114 * pixels[i + 2];
    var nowDark = sum / (pixels.length / 4) < TOO_DARK_LEVEL;
    if (nowDark !== dark) {
      dark = nowDark;
      if (dark) show("too_dark");
      else show("ready", null, say("ready_hint"));
    }
  }

  function scanLoop() {
    var next = function () { setTimeout(scanLoop, SCAN_INTERVAL_MS); };
    if (busy || Date.now() < pausedUntil || video.readyState < 2 || !video.videoWidth) { next(); return; }
    if (!enrolling && Date.now() - lastLightCheck > 1000) checkLight();
    decodeFrame().then(function (text) { if (text) onText(text); }, function () {}).then(next);
  }

  function onText(text) {
    if (enrolling) { onSetupText(text); return; }
    // A family's device is also where a Chromebook's sign-in screen starts: the QR code of a
    // cart's set-up sheet held up to it still makes it a school scanner.
    if (home && setupPattern.test(text)) { home = false; document.getElementById("setup-link").hidden = true; onSetupText(text); return; }
    // The same code held still in front of the camera is one scan, not thirty.
    var now = Date.now();
    if (text === lastText && now - lastTextAt < MESSAGE_MS) return;
    lastText = text;
    lastTextAt = now;
    if (!badgePattern.test(text)) { message("not_a_badge"); return; }  // never sent to the server
    exchange(text, null);
  }

  // ---- exchange ----
  // The same code -> state table as the Qt kiosk (badge_server/contract/words.py).
  var ERROR_STATES = JSON.parse(root.dataset.errorStates);

  function exchange(badge, pinValue) {
    busy = true;
    show("reading");
    var body = { badge: badge };
    if (pinValue) body.pin = pinValue;
    api(home ? "/scan/home" : "/api/v1/exchange", body, !home).then(function (reply) {
      busy = false;
      var code = reply.data.error ? reply.data.error.code : "";
      if (reply.status === 200) { welcome(reply.data); return; }
      if (code === "pin_required" || code === "pin_incorrect") { askPin(badge, code === "pin_incorrect"); return; }
      panel(null);
      if (code === "rate_limited") { countdown(reply.retryAfter || 30); return; }
      if (code === "device_not_authorized") {
        window.localStorage.removeItem(TOKEN_KEY);
        showEnroll("This computer is no longer set up as a scanner. Enrol it again.");
        return;
      }
      if (ERROR_STATES[code]) { message(ERROR_STATES[code]); return; }
      message("unreachable", null, 5000);
    }, function () { busy = false; message("unreachable", null, 5000); });
  }

  function welcome(data) {
    busy = true;
    panel("welcome");
    var avatar = document.getElementById("welcome-avatar");
    avatar.textContent = data.user.initials;
    avatar.style.background = data.user.avatar_color;
    avatar.setAttribute("aria-label", data.user.display_name);
    document.getElementById("welcome-text").textContent = say("welcome", { name: data.user.first_name });
    show("welcome", { name: data.user.first_name });
    beep("welcome");
    // Long enough to see your own face and name; the launch code lives 60 seconds. At home
    // the session cookie is already set: on to the dashboard, or the app that was waiting.
    setTimeout(function () { window.location.assign(home ? data.next : data.launch_url); }, 1200);
  }

  function countdown(seconds) {
    busy = true;
    var end = Date.now() + seconds * 1000;
    beep("error");
    (function tick() {
      var left = Math.ceil((end - Date.now()) / 1000);
      if (left <= 0) { busy = false; lastText = ""; idle(); return; }
      show("too_many", { seconds: left });
      setTimeout(tick, 500);
    })();
  }

  // ---- PIN (for grades whose policy asks for one) ----
  function askPin(badge, wrong) {
    pendingBadge = badge;
    pin = "";
    busy = true;
    panel("pin-panel");
    document.getElementById("pin-title").textContent = say(wrong ? "pin_wrong" : "pin");
    document.getElementById("pin-dots").textContent = "";
    show(wrong ? "not_a_badge" : "pin", null);
    if (wrong) document.getElementById("status-text").textContent = say("pin_wrong");
    if (wrong) beep("error");
  }

  document.getElementById("pinpad").addEventListener("click", function (event) {
    var digit = event.target.dataset && event.target.dataset.digit;
    if (!digit) return;
    if (digit === "cancel") { pin = ""; busy = false; panel(null); idle(); pausedUntil = Date.now() + MESSAGE_MS; return; }
    pin = digit === "back" ? pin.slice(0, -1) : (pin + digit).slice(0, 6);
    document.getElementById("pin-dots").textContent = "●".repeat(pin.length);
    if (pin.length === 6) { panel(null); exchange(pendingBadge, pin); }
  });

  show("ready", null, say("ready_hint"));
  proveDevice();
})();
