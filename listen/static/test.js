// The participant's page: it only ever knows the current trial number, its audio and waveform.
import { WaveView, fmtSpan } from "/static/wave.js";

const $ = (id) => document.getElementById(id);
const view = new WaveView($("wave"), { editable: true, onchange: update });
let state = null, shownAt = 0, plays = 0;

async function api(path, body) {
  const opts = body === undefined ? {} : { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify(body) };
  const r = await fetch(path, { credentials: "same-origin", ...opts });
  const data = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(data.error || `HTTP ${r.status}`);
  return data;
}

function show(id) {
  for (const s of ["intro", "trial", "done"]) $(s).hidden = s !== id;
}

function setProgress(answered, total) {
  $("progress").max = total || 1;
  $("progress").value = answered;
  $("progress-text").textContent = answered < total ? `Clip ${answered + 1} of ${total}` : `${total} of ${total} done`;
}

function chosen(name) {
  const el = document.querySelector(`input[name="${name}"]:checked`);
  return el ? el.value : null;
}

function update() {
  const answer = chosen("answer");
  $("marks").textContent = view.marks.length ? `marked: ${view.marks.map(fmtSpan).join(", ")}` : "";
  const needsMark = answer === "fake" && view.marks.length === 0;
  $("submit").disabled = !answer || !chosen("confidence") || needsMark;
  $("status").textContent = needsMark ? "Mark the fake part on the waveform." : "";
}

async function load() {
  state = await api("/api/trial");
  if (!state.started) return show("intro");
  if (state.done) { setProgress(state.total, state.total); return show("done"); }
  setProgress(state.answered, state.total);
  const levels = state.confidence_levels;
  $("conf-max").textContent = levels;
  $("conf-options").replaceChildren(...Array.from({ length: levels }, (_, i) => {
    const label = document.createElement("label");
    label.innerHTML = `<input type="radio" name="confidence" value="${i + 1}" id="conf-${i + 1}"> ${i + 1}`;
    return label;
  }));
  for (const input of document.querySelectorAll("input[type=radio]")) { input.checked = false; input.onchange = update; }
  $("audio").src = `/api/trial/${state.index}/audio`;
  view.set(state.peaks, state.duration);
  plays = 0;
  shownAt = performance.now();
  show("trial");
  update();
}

$("audio").addEventListener("play", () => { plays += 1; });
$("audio").addEventListener("timeupdate", () => { view.playhead = $("audio").currentTime; view.draw(); });
$("clear").addEventListener("click", () => view.clearMarks());
$("start").addEventListener("click", async () => { await api("/api/start", { name: $("name").value }); await load(); });
$("next").addEventListener("click", async () => { await api("/api/leave", {}); await load(); });
$("submit").addEventListener("click", async () => {
  $("submit").disabled = true;
  const answer = chosen("answer");
  try {
    await api(`/api/trial/${state.index}/answer`, {
      answer, confidence: Number(chosen("confidence")), regions: answer === "fake" ? view.marks : [],
      response_ms: Math.round(performance.now() - shownAt), replays: Math.max(0, plays - 1),
    });
  } catch (err) {
    $("status").textContent = `Not saved: ${err.message}`;
  }
  await load();
});
// The back button cannot undo an answer: the server only ever serves the current trial.
window.addEventListener("pageshow", load);
