// The experimenter's inspector: browse by split / manipulation / generator, a real clip and its fake side by
// side, waveform and spectrogram with the labelled region, detector frame scores when a checkpoint was given.
import { WaveView, fmtSpan } from "/static/wave.js";

const $ = (id) => document.getElementById(id);
const FILTERS = ["split", "manipulation", "generator"];
let facets = null;

async function api(path) {
  const r = await fetch(path, { credentials: "same-origin" });
  if (!r.ok) throw new Error(`${path}: HTTP ${r.status}`);
  return r.json();
}

const clipUrl = (id, what = "") => `/api/inspect/clip/${encodeURIComponent(id)}${what}`;

function fillSelect(select, values) {
  select.replaceChildren(new Option("all", ""), ...values.map((v) => new Option(v, v)));
}

async function refreshList() {
  const params = new URLSearchParams();
  for (const f of FILTERS) if ($(`f-${f}`).value) params.set(f, $(`f-${f}`).value);
  const clips = await api(`/api/inspect/clips?${params}`);
  $("count").textContent = `${clips.length} clips`;
  $("clip-list").replaceChildren(...clips.map((c) => {
    const li = document.createElement("li");
    const a = document.createElement("a");
    a.href = `/inspect?clip=${encodeURIComponent(c.id)}`;
    a.textContent = c.id;
    a.dataset.clip = c.id;
    a.addEventListener("click", (e) => { e.preventDefault(); showClip(c.id); });
    const badge = document.createElement("span");
    badge.className = `badge ${c.label ? "fake" : "real"}`;
    badge.textContent = c.label ? c.manipulation : "real";
    li.append(badge, " ", a);
    return li;
  }));
}

function overlay(wrap, segments, duration) {
  for (const [a, b] of segments) {
    const div = document.createElement("div");
    div.className = "region";
    div.style.left = `${(100 * a) / duration}%`;
    div.style.width = `${(100 * (b - a)) / duration}%`;
    div.title = `labelled fake: ${fmtSpan([a, b])}`;
    wrap.append(div);
  }
}

async function pane(clipId) {
  const clip = await api(clipUrl(clipId));
  const node = $("pane").content.firstElementChild.cloneNode(true);
  node.dataset.clip = clip.id;
  const badge = node.querySelector(".badge");
  badge.className = `badge ${clip.label ? "fake" : "real"}`;
  badge.textContent = clip.label ? "FAKE" : "REAL";
  const link = node.querySelector(".clip-link");
  link.textContent = clip.id;
  link.href = `/inspect?clip=${encodeURIComponent(clip.id)}`;
  node.querySelector(".meta").textContent =
    `${clip.split} · ${clip.manipulation}${clip.generator ? " · " + clip.generator : ""} · ${clip.duration.toFixed(2)} s · ${clip.sample_rate} Hz`;
  node.querySelector(".label-text").textContent = clip.label
    ? `labelled fake region: ${clip.segments.map(fmtSpan).join(", ") || "(none)"}`
    : "real clip: no fake region";
  node.querySelector(".caption").textContent = clip.caption ? `“${clip.caption}”` : "";
  node.querySelector("audio").src = clipUrl(clip.id, "/audio");
  const view = new WaveView(node.querySelector("canvas.wave"));
  view.set(clip.peaks, clip.duration, { labels: clip.segments });
  node.querySelector("audio").addEventListener("timeupdate", (e) => { view.playhead = e.target.currentTime; view.draw(); });
  const wrap = node.querySelector(".spec-wrap");
  wrap.querySelector("img").src = clipUrl(clip.id, "/spectrogram.png");
  overlay(wrap, clip.segments, clip.duration);
  if (facets.has_detector) {
    const text = node.querySelector(".detector");
    text.textContent = "detector: computing…";
    api(clipUrl(clip.id, "/scores")).then((d) => {
      view.set(clip.peaks, clip.duration, { labels: clip.segments, scores: d.frame_scores, threshold: d.threshold, frameS: d.frame_s });
      const regions = d.regions.map(([a, b]) => fmtSpan([a, b])).join(", ") || "none";
      text.textContent = `detector: score ${d.score.toFixed(3)} → ${d.is_fake ? "FAKE" : "real"}; regions ${regions}`;
    }).catch((err) => { text.textContent = `detector: ${err.message}`; });
  }
  return { node, clip };
}

async function showClip(clipId) {
  const first = await pane(clipId);
  const partners = first.clip.partners;
  const other = first.clip.label ? partners.find((p) => p.label === 0) : partners.find((p) => p.label === 1);
  const panes = [first];
  if (other) panes.push(await pane(other.id));
  panes.sort((a, b) => a.clip.label - b.clip.label); // the real clip on the left, its fake on the right
  $("panes").replaceChildren(...panes.map((p) => p.node));
  const rest = partners.filter((p) => !other || p.id !== other.id);
  $("others").replaceChildren(...(rest.length ? ["same source: "] : []), ...rest.map((p) => {
    const a = document.createElement("a");
    a.href = `/inspect?clip=${encodeURIComponent(p.id)}`;
    a.textContent = `${p.id} (${p.label ? p.manipulation : "real"}) `;
    a.addEventListener("click", (e) => { e.preventDefault(); showClip(p.id); });
    return a;
  }));
  $("empty").hidden = true;
  for (const a of document.querySelectorAll("#clip-list a")) a.classList.toggle("current", a.dataset.clip === clipId);
  history.replaceState(null, "", `/inspect?clip=${encodeURIComponent(clipId)}`);
}

async function main() {
  facets = await api("/api/inspect/facets");
  const params = new URLSearchParams(location.search);
  for (const f of FILTERS) {
    fillSelect($(`f-${f}`), facets[f]);
    if (params.get(f)) $(`f-${f}`).value = params.get(f);
    $(`f-${f}`).addEventListener("change", refreshList);
  }
  $("info").textContent = facets.rejected.length ? `${facets.rejected.length} manifest records not served (see the server log)` : "";
  await refreshList();
  if (params.get("clip")) await showClip(params.get("clip"));
}

main().catch((err) => { $("empty").textContent = `Error: ${err.message}`; });
