// pseudopulse serve: the page. Camera mode sends frames over a WebSocket and shows the live updates; upload mode
// posts a video file and shows its report. The messages are documented in docs/serve.md. Plain JS, no build step.
"use strict";

const FRAME_WIDTH = 320;      // px: frames are scaled to this width before they are sent
const JPEG_QUALITY = 0.9;
const MAX_IN_FLIGHT = 3;      // frames sent but not yet taken by the pipeline; more are skipped at the camera
const $ = (id) => document.getElementById(id);
let config = { window_s: 10, min_confidence: 0.5, max_upload_bytes: 500e6 };

// ------------------------------------------------------------------ shared: tabs, messages, readings, plots
for (const tab of document.querySelectorAll(".tab")) {
  tab.addEventListener("click", () => {
    for (const t of document.querySelectorAll(".tab")) {
      t.classList.toggle("active", t === tab);
      $(t.dataset.panel).hidden = t !== tab;
    }
  });
}

function say(el, text, isError = false) {
  el.textContent = text;
  el.classList.toggle("error", isError);
}

// The rate, its confidence, the verdict and the reasons (plain words from the server) into the elements `ids`.
function showReading(ids, hr, confidence, reliable, reasons) {
  $(ids.hr).textContent = hr == null ? "--" : hr.toFixed(0);
  $(ids.confidence).textContent = hr == null ? "--" : confidence.toFixed(2);
  const v = $(ids.verdict);
  v.textContent = hr == null ? "" : reliable ? "reliable" : "not reliable";
  v.className = "verdict " + (hr == null ? "" : reliable ? "ok" : "bad");
  const ul = $(ids.reasons);
  ul.replaceChildren(...reasons.map((r) => Object.assign(document.createElement("li"), { textContent: r })));
}

// A line plot of ys over xs on `canvas`; opts: color, xlabel, ylabel, xmin/xmax/ymin/ymax, marks (vertical lines
// {x, color, label}), bands ({x0, x1, alpha, color} shaded behind the line), dots (a dot on each point too).
function plot(canvas, xs, ys, opts = {}) {
  const ctx = canvas.getContext("2d");
  const W = canvas.width, H = canvas.height, L = 48, R = 10, T = 10, B = 26;
  ctx.clearRect(0, 0, W, H);
  if (!xs.length) return;
  const finite = ys.filter(Number.isFinite);
  const xmin = opts.xmin ?? Math.min(...xs), xmax = opts.xmax ?? Math.max(...xs);
  let ymin = opts.ymin ?? Math.min(...finite), ymax = opts.ymax ?? Math.max(...finite);
  if (ymax - ymin < 1e-9) { ymin -= 1; ymax += 1; }
  const X = (x) => L + (W - L - R) * (x - xmin) / ((xmax - xmin) || 1);
  const Y = (y) => T + (H - T - B) * (1 - (y - ymin) / (ymax - ymin));
  for (const b of opts.bands || []) {
    ctx.fillStyle = b.color; ctx.globalAlpha = b.alpha;
    ctx.fillRect(X(b.x0), T, Math.max(1, X(b.x1) - X(b.x0)), H - T - B);
    ctx.globalAlpha = 1;
  }
  ctx.strokeStyle = "#999"; ctx.fillStyle = "#555"; ctx.font = "11px sans-serif"; ctx.lineWidth = 1;
  ctx.strokeRect(L, T, W - L - R, H - T - B);
  for (const y of [ymin, (ymin + ymax) / 2, ymax]) ctx.fillText(y.toFixed(Math.abs(ymax - ymin) < 10 ? 1 : 0), 4, Y(y) + 4);
  for (const x of [xmin, (xmin + xmax) / 2, xmax]) ctx.fillText(x.toFixed(0), X(x) - 8, H - 12);
  if (opts.xlabel) ctx.fillText(opts.xlabel, W - R - ctx.measureText(opts.xlabel).width, H - 2);
  if (opts.ylabel) ctx.fillText(opts.ylabel, L + 4, T + 12);
  for (const m of opts.marks || []) {
    ctx.strokeStyle = m.color; ctx.setLineDash([4, 3]);
    ctx.beginPath(); ctx.moveTo(X(m.x), T); ctx.lineTo(X(m.x), H - B); ctx.stroke(); ctx.setLineDash([]);
    ctx.fillStyle = m.color; ctx.fillText(m.label, X(m.x) + 4, T + 24);
  }
  ctx.strokeStyle = ctx.fillStyle = opts.color || "#c0392b"; ctx.lineWidth = 1.6;
  ctx.beginPath();
  let pen = false;
  xs.forEach((x, i) => {
    if (!Number.isFinite(ys[i])) { pen = false; return; }
    if (pen) ctx.lineTo(X(x), Y(ys[i]));
    else { ctx.moveTo(X(x), Y(ys[i])); pen = true; }
  });
  ctx.stroke();
  if (opts.dots) {
    ctx.beginPath();
    xs.forEach((x, i) => {
      if (Number.isFinite(ys[i])) { ctx.moveTo(X(x) + 3, Y(ys[i])); ctx.arc(X(x), Y(ys[i]), 3, 0, 2 * Math.PI); }
    });
    ctx.fill();
  }
}

fetch("/api/config").then((r) => r.json()).then((c) => {
  config = c;
  $("meaning").textContent = c.confidence_meaning;
}).catch(() => {});

// ------------------------------------------------------------------ camera mode
let media = null, ws = null, stopping = false, inFlight = 0, sent = 0, skipped = 0;
const liveIds = { hr: "hr", confidence: "confidence", verdict: "verdict", reasons: "reasons" };

function cameraProblem(err) {
  switch (err && err.name) {
    case "NotAllowedError": case "SecurityError":
      return "Camera permission was denied: allow the camera for this page (the icon in the address bar), then press Start camera again.";
    case "NotFoundError": case "OverconstrainedError":
      return "No camera was found: connect one, or use Upload a video.";
    case "NotReadableError": case "AbortError":
      return "The camera could not be started: another program may be using it. Close it and press Start camera again.";
    default:
      return "The camera could not be opened" + (err && err.message ? ": " + err.message : ".");
  }
}

async function startCamera() {
  say($("message"), "");
  if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
    say($("message"), "This browser gives the page no camera here: open it as http://127.0.0.1 or http://localhost (or over HTTPS).", true);
    return;
  }
  try {
    media = await navigator.mediaDevices.getUserMedia({ audio: false,
      video: { width: { ideal: 640 }, height: { ideal: 480 }, frameRate: { ideal: 30 }, facingMode: "user" } });
  } catch (err) {
    say($("message"), cameraProblem(err), true);
    $("status").textContent = "camera off";
    return;
  }
  const video = $("video");
  video.srcObject = media;
  await video.play();
  $("start").disabled = true; $("stop").disabled = false;
  connect();
  scheduleFrame();
}

function stopCamera() {
  stopping = true;
  if (ws) ws.close();
  if (media) for (const track of media.getTracks()) track.stop();
  media = null;
  $("start").disabled = false; $("stop").disabled = true; $("reconnect").hidden = true;
  $("status").textContent = "camera off";
}

function connect() {
  stopping = false; inFlight = 0; sent = 0; skipped = 0;
  $("reconnect").hidden = true;
  $("status").textContent = "connecting ...";
  ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + "/api/live");
  ws.onopen = () => { say($("message"), ""); $("status").textContent = "warming up"; };
  ws.onmessage = (ev) => onMessage(JSON.parse(ev.data));
  ws.onclose = () => {
    if (stopping) return;
    say($("message"), "The connection to the server closed. Is `pseudopulse serve` still running?", true);
    $("status").textContent = "disconnected";
    $("reconnect").hidden = !media;
  };
}

function onMessage(m) {
  if (m.type === "ack") { inFlight = Math.max(0, sent - m.frames); return; }
  if (m.type === "event") { say($("message"), m.message); return; }
  if (m.type === "error") { say($("message"), m.message, true); return; }
  if (m.type !== "update") return;
  showReading(liveIds, m.hr_bpm, m.confidence, m.reliable, m.status === "reading" ? m.reasons : []);
  const windowS = config.window_s || 10;
  $("warmup").value = Math.min(1, m.window_s / windowS);
  $("warmup").hidden = m.status !== "warming up";
  const statusText = {
    "warming up": `warming up: ${m.window_s.toFixed(0)} of ${windowS.toFixed(0)} s gathered`,
    "no face": "no face in view",
    "no reading": "no reading",
    "reading": "reading",
  }[m.status] || m.status;
  $("status").textContent = m.status === "reading" ? statusText : [statusText, ...m.reasons.slice(m.status === "warming up" ? 1 : 0)].join(": ");
  $("face").textContent = `face found on ${(100 * m.face_share).toFixed(0)} % of the last ${m.window_s.toFixed(0)} s` +
    (m.fps ? ` · ${m.fps.toFixed(1)} fps` : "") + ` · ${m.frames} frames read, ${skipped} skipped` +
    (m.latency_s != null ? ` · latency ${m.latency_s.toFixed(2)} s` : "");
  if (m.wave.length) {
    const t1 = m.wave_t_s[m.wave_t_s.length - 1];
    plot($("wave"), m.wave_t_s.map((t) => t - t1), m.wave, { xlabel: "time (s)", ylabel: "pulse" });
  } else {
    $("wave").getContext("2d").clearRect(0, 0, $("wave").width, $("wave").height);
  }
  $("stats").textContent = m.status === "reading" ?
    `window peak ${m.peak_bpm == null ? "--" : m.peak_bpm.toFixed(1)} bpm · SNR ${m.snr_db == null ? "--" : m.snr_db.toFixed(1)} dB` : "";
}

// One camera frame: drawn to the hidden canvas at FRAME_WIDTH, sent as [float64 capture time (ms), JPEG].
function sendFrame(captureMs) {
  if (!ws || ws.readyState !== WebSocket.OPEN) return;
  if (inFlight >= MAX_IN_FLIGHT) { skipped++; return; }
  const video = $("video"), grab = $("grab");
  if (!video.videoWidth) return;
  grab.width = FRAME_WIDTH;
  grab.height = Math.round(FRAME_WIDTH * video.videoHeight / video.videoWidth);
  grab.getContext("2d").drawImage(video, 0, 0, grab.width, grab.height);
  inFlight++; sent++;
  grab.toBlob((jpeg) => {
    if (!jpeg || !ws || ws.readyState !== WebSocket.OPEN) { sent--; inFlight = Math.max(0, inFlight - 1); return; }
    const head = new DataView(new ArrayBuffer(8));
    head.setFloat64(0, captureMs, true);
    ws.send(new Blob([head.buffer, jpeg]));
  }, "image/jpeg", JPEG_QUALITY);
}

// At the camera's rate: one callback per new video frame where the browser has requestVideoFrameCallback.
function scheduleFrame() {
  const video = $("video");
  if (!media) return;
  if (video.requestVideoFrameCallback) {
    video.requestVideoFrameCallback((now, meta) => {
      sendFrame(Number.isFinite(meta.captureTime) ? meta.captureTime : now);
      scheduleFrame();
    });
  } else {
    const fps = media.getVideoTracks()[0].getSettings().frameRate || 30;
    setTimeout(() => { sendFrame(performance.now()); scheduleFrame(); }, 1000 / fps);
  }
}

$("start").addEventListener("click", startCamera);
$("stop").addEventListener("click", stopCamera);
$("reconnect").addEventListener("click", connect);

// ------------------------------------------------------------------ upload mode
const uploadIds = { hr: "u-hr", confidence: "u-confidence", verdict: "u-verdict", reasons: "u-reasons" };

$("file").addEventListener("change", () => { $("analyse").disabled = !$("file").files.length; });

$("analyse").addEventListener("click", async () => {
  const file = $("file").files[0];
  if (!file) return;
  if (file.size > config.max_upload_bytes) {
    say($("upload-message"), `${file.name}: the file is larger than the server's ${(config.max_upload_bytes / 1e6).toFixed(0)} MB limit.`, true);
    return;
  }
  $("analyse").disabled = true; $("report").hidden = true;
  say($("upload-message"), `uploading and reading ${file.name} ...`);
  try {
    const res = await fetch("/api/predict?name=" + encodeURIComponent(file.name),
      { method: "POST", headers: { "Content-Type": "application/octet-stream" }, body: file });
    const doc = await res.json();
    if (!res.ok) { say($("upload-message"), doc.error || `the server answered ${res.status}`, true); return; }
    say($("upload-message"), "");
    showReport(doc);
  } catch (err) {
    say($("upload-message"), "The upload failed: the server could not be reached (" + err.message + ").", true);
  } finally {
    $("analyse").disabled = false;
  }
});

function showReport(d) {
  $("report").hidden = false;
  showReading(uploadIds, d.hr_bpm, d.confidence, d.reliable, d.reasons);
  $("u-hrv").textContent = d.hrv_withheld ? `HRV withheld: ${d.hrv_withheld}` :
    `HRV: SDNN ${d.sdnn_ms.toFixed(0)} ms, RMSSD ${d.rmssd_ms.toFixed(0)} ms (${d.n_beats} beats)`;
  $("u-facts").textContent = `${d.source}: ${d.duration_s.toFixed(1)} s, ${d.n_frames} frames at ${d.fps.toFixed(2)} fps; ` +
    `face lost ${d.face_lost_s.toFixed(1)} s; method ${d.method}; SNR ${d.snr_db == null ? "--" : d.snr_db.toFixed(1)} dB`;
  const tr = d.hr_track, half = d.hr_track_window_s / 2, min = d.min_confidence;
  const bands = tr.map((w, i) => ({  // each window shaded by its confidence: green if reliable, orange if not
    x0: i ? (tr[i - 1].t_s + w.t_s) / 2 : Math.max(0, w.t_s - half), x1: i < tr.length - 1 ? (w.t_s + tr[i + 1].t_s) / 2 : w.t_s + half,
    alpha: 0.15 + 0.5 * w.confidence, color: w.confidence >= min ? "#2e9d3a" : "#e67e22" }));
  const hrs = tr.map((w) => w.hr_bpm);
  plot($("u-track"), tr.map((w) => w.t_s), hrs, { xlabel: "time (s)", ylabel: "HR (bpm), shaded by confidence",
    bands, dots: true, ymin: Math.min(...hrs) - 5, ymax: Math.max(...hrs) + 5,
    xmin: tr.length ? Math.max(0, tr[0].t_s - half) : 0, xmax: tr.length ? tr[tr.length - 1].t_s + half : 1 });
  plot($("u-wave"), d.timestamps_s, d.wave, { xlabel: "time (s)", ylabel: "pulse" });
  plot($("u-psd"), d.psd_bpm, d.psd_power, { color: "#2c6fbb", xlabel: "bpm", ylabel: "power",
    bands: [{ x0: 60 * d.band_hz[0], x1: 60 * d.band_hz[1], alpha: 0.08, color: "#555" }],
    marks: [{ x: d.hr_bpm, color: "#c0392b", label: `HR ${d.hr_bpm.toFixed(1)} bpm` }] });
}
