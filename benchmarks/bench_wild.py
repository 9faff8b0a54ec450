"""The detector on real recordings it never saw: the ``wild`` part of ``bench_detector.py``.

Material: the wild evaluation set written by ``fetch_debian_audio.py`` (clips of recordings from Debian packages
used by neither the bundled kit nor the extra training kit, at native rates, plus web-like variants of each).

* **False alarms on wild reals**: the share of real clips called fake at the checkpoint's stored threshold, per
  variant (clean, peak -1 dBFS, hard-clipped +6 dB, MP3 ~57 kbps, 16 kHz band) and per content kind (speech,
  music, crowd, vehicle, ...).
* **Wild reals vs their fakes**: the clean clips imported with ``fakesound import-sources`` (captions CSV) and built
  with ``fakesound build`` (the default weight-free recipe), as a user would; EER and AUC over every clip of that
  corpus (reals and fakes; nothing of it was trained on), per manipulation and per content kind.
* **Long recordings**: every recording of the wild set of at least ``LONG_S`` seconds, whole (fetched beside the
  wild set in ``OUT/extracted``): the share called fake at the stored decision (length-corrected,
  :mod:`detector.decision`) and by the plain largest window score, beside the share of their windows called fake;
  and the wild fakes put back into their recordings at the place their clip was cut from (the real clip of the
  corpus put back the same way for the real side, so both carry the same joins): EER, FPR and FNR of these long
  reals vs long fakes, corrected and plain.
* **Short clips** (with the demo corpus as ``reference``): the clean wild clips and the demo test reals cut into
  non-overlapping pieces of ``SHORT_S`` seconds, % called fake; the demo test fakes cut to the piece centred on
  their labelled region, % found. The model trains on full windows; shorter input is scored as it is.

CIs: 95 % percentile bootstrap (``detector.metrics.bootstrap_ci``) over *recordings*, not clips: the clips cut from
one recording (and its variants, and its fakes) are resampled together, so correlated clips do not narrow the CI.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from detector import metrics as M
from detector.data import load_corpus
from detector.evaluate import predict_records
from detector.inference import SILENCE_PEAK, Detector
from pipeline.audio_io import read_audio
from pipeline.errors import EXIT_PARTIAL
from pipeline.manifest import ClipRecord, read_manifest

ROOT = Path(__file__).resolve().parents[1]
#: Recordings at least this long are scored whole in the long-recording part.
LONG_S = 30.0
#: Piece lengths (seconds) of the short-clip part.
SHORT_S = (1.0, 2.0, 3.0, 5.0)


def _run(cmd: list[str]) -> None:
    done = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL)
    if done.returncode not in (0, EXIT_PARTIAL):
        raise subprocess.CalledProcessError(done.returncode, cmd)


def ensure_wild(fetch_out: Path) -> Path:
    """``fetch_out/wild`` (running the fetch step, which needs apt and the network, when it is not there yet)."""
    wild = fetch_out / "wild"
    if not (wild / "manifest.jsonl").exists():
        print(f"fetching the wild set into {fetch_out} (apt-get download; about 0.9 GB of .debs)", flush=True)
        _run([sys.executable, str(ROOT / "benchmarks" / "fetch_debian_audio.py"), "--out", str(fetch_out)])
    return wild


def build_wild_fakes(wild: Path, work: Path, seed: int) -> Path:
    """Fakes made from the wild clips the way a user would: ``import-sources`` then ``build`` (weight-free)."""
    sources, corpus = work / "wild_sources", work / f"wild_corpus_seed{seed}"
    if not (sources / "manifest.jsonl").exists():
        _run([sys.executable, "-m", "flows.cli", "import-sources", "--audio", str(wild / "audio" / "clean"),
              "--captions", str(wild / "captions.csv"), "--out", str(sources)])
    if not (corpus / "manifest.jsonl").exists():
        _run([sys.executable, "-m", "flows.cli", "build", "--sources", str(sources / "manifest.jsonl"),
              "--out", str(corpus), "--seed", str(seed)])
    return corpus


def cluster_ci(statistic: Callable[[np.ndarray], float], clusters: Sequence[str], n_boot: int,
               seed: int = 0, labels: Sequence[int] | None = None) -> tuple[float, float]:
    """95 % CI of ``statistic(item indices)`` resampling whole clusters with replacement (the project's
    ``bootstrap_ci`` run over cluster ids). With ``labels``, clusters are resampled within strata of the labels they
    hold (all real, all fake, both), so a resample keeps both classes whenever the data has them."""
    names = sorted(set(clusters))
    index = {c: i for i, c in enumerate(names)}
    members: list[list[int]] = [[] for _ in names]
    for item, c in enumerate(clusters):
        members[index[c]].append(item)
    arrays = [np.asarray(m, dtype=np.int64) for m in members]
    kinds = [tuple(sorted({int(labels[i]) for i in m})) if labels is not None else () for m in members]
    strata = np.array([sorted(set(kinds)).index(k) for k in kinds])
    return M.bootstrap_ci(lambda idx: statistic(np.concatenate([arrays[i] for i in idx])), strata,
                          n_boot=n_boot, seed=seed)


def _rate(called: np.ndarray, clusters: list[str], n_boot: int, seed: int) -> dict:
    value = float(called.mean()) if len(called) else float("nan")
    lo, hi = cluster_ci(lambda i: float(called[i].mean()), clusters, n_boot, seed) if len(called) else (np.nan,) * 2
    return {"value": value, "ci_low": lo, "ci_high": hi, "n": len(called),
            "n_recordings": len(set(clusters))}


def false_alarms(scores: np.ndarray, threshold: float, records: list[ClipRecord], n_boot: int, seed: int = 0) -> dict:
    """FPR of real ``records`` at ``threshold``: all, per variant, per content kind (clean clips) and per content
    kind over every variant; CIs over recordings."""
    called = scores >= threshold
    recording = [r.extra["source_path"] for r in records]
    variant = np.array([r.extra["variant"] for r in records])
    content = np.array([r.extra["content"] for r in records])

    def rate(mask: np.ndarray) -> dict:
        return _rate(called[mask], [c for c, m in zip(recording, mask, strict=True) if m], n_boot, seed)

    clean = variant == "clean"
    return {"all": rate(np.ones(len(records), bool)),
            "by_variant": {v: rate(variant == v) for v in dict.fromkeys(variant)},
            "by_content_clean": {c: rate(clean & (content == c)) for c in sorted(set(content))},
            "by_content_all_variants": {c: rate(content == c) for c in sorted(set(content))}}


def separation(labels: np.ndarray, scores: np.ndarray, threshold: float, clusters: list[str], n_boot: int,
               seed: int = 0) -> dict:
    """EER, AUC, FPR and FNR (at ``threshold``) of reals vs fakes, CIs over recordings."""
    called = scores >= threshold
    def both(fn: Callable[[np.ndarray], float]) -> Callable[[np.ndarray], float]:
        return lambda i: fn(i) if len(set(labels[i].tolist())) == 2 else float("nan")  # NaN replicates are dropped

    stats = {"eer": both(lambda i: M.eer(labels[i], scores[i])), "auc": both(lambda i: M.roc_auc(labels[i], scores[i])),
             "fpr": both(lambda i: float(np.mean(called[i][labels[i] == 0]))),
             "fnr": both(lambda i: float(np.mean(~called[i][labels[i] == 1])))}
    everything = np.arange(len(labels))
    out: dict = {"n_fake": int(labels.sum()), "n_real": int((labels == 0).sum()),
                 "n_recordings": len(set(clusters))}
    for k, (name, fn) in enumerate(stats.items()):
        lo, hi = cluster_ci(fn, clusters, n_boot, seed + k, labels)
        out[name] = {"value": float(fn(everything)), "ci_low": lo, "ci_high": hi}
    return out


def evaluate_wild(ckpt: Path, wild: Path, corpus: Path, n_boot: int, seed: int = 0,
                  reference: Path | None = None) -> dict:
    """Both measures for one checkpoint (see the module docstring). With ``reference`` (a demo corpus), also the
    threshold-free form of the false alarms: EER/AUC of the clean wild reals against that corpus's test fakes
    (how far the model ranks real recordings it never saw below fakes of the kind it was trained on)."""
    detector = Detector.from_checkpoint(ckpt, device="cpu")
    reals = read_manifest(wild / "manifest.jsonl")
    preds, errors = predict_records(detector, reals, wild)
    if errors:
        raise RuntimeError(errors[0])
    by_id = {p.id: p.score for p in preds}
    scores = np.array([by_id[r.id] for r in reals])
    out = {"checkpoint": str(ckpt), "threshold": detector.threshold, "wild": str(wild),
           "false_alarms": false_alarms(scores, detector.threshold, reals, n_boot, seed)}

    clean = {r.source_id: r for r in reals if r.extra["variant"] == "clean"}
    if reference is not None:
        ref_test = [r for r in load_corpus(reference) if r.split == "test"]
        ref_fakes = [r for r in ref_test if r.label == 1]
        fpreds, errors = predict_records(detector, ref_fakes, reference)
        if errors:
            raise RuntimeError(errors[0])
        labels = np.array([0] * len(clean) + [1] * len(fpreds))
        both = np.array([by_id[r.id] for r in clean.values()] + [p.score for p in fpreds])
        groups = [r.extra["source_path"] for r in clean.values()] + [f"ref:{r.source_id}" for r in ref_fakes]
        out["reals_vs_reference_fakes"] = {"reference": str(reference), **separation(
            labels, both, detector.threshold, groups, n_boot, seed)}
        out["short"] = evaluate_short(detector, list(clean.values()), wild, ref_test, reference, n_boot, seed)

    records = load_corpus(corpus)
    cpreds, errors = predict_records(detector, records, corpus)
    if errors:
        raise RuntimeError(errors[0])
    labels = np.array([p.label for p in cpreds])
    cscores = np.array([p.score for p in cpreds])
    source = {r.id: r.source_id for r in records}
    recording = [clean[source[p.id]].extra["source_path"] for p in cpreds]
    content = np.array([clean[source[p.id]].extra["content"] for p in cpreds])
    manipulation = np.array([p.manipulation for p in cpreds])
    out["fakes"] = {"corpus": str(corpus), "all": separation(labels, cscores, detector.threshold, recording, n_boot,
                                                             seed)}
    groups = {f"manipulation:{m}": (manipulation == m) | (labels == 0) for m in sorted(set(manipulation[labels == 1]))}
    groups |= {f"content:{c}": content == c for c in sorted(set(content))}
    for name, mask in groups.items():
        sub = [r for r, m in zip(recording, mask, strict=True) if m]
        if len(set(labels[mask])) == 2:
            out["fakes"][name] = separation(labels[mask], cscores[mask], detector.threshold, sub, n_boot, seed)
    out["long"] = evaluate_long(detector, list(clean.values()), wild, records, corpus, n_boot, seed)
    return out


def _recording_path(wild: Path, record: ClipRecord) -> Path:
    """The whole recording a wild clip was cut from, as the fetch step extracted it."""
    return wild.parent / "extracted" / record.extra["package"].split()[0] / record.extra["source_path"]


def _put_back(recording: np.ndarray, clip: np.ndarray, start_s: float, rate: int) -> np.ndarray:
    start = round(start_s * rate)
    out = recording.copy()
    out[start : start + len(clip)] = clip[: len(out) - start]
    return out


def evaluate_long(detector: Detector, reals: list[ClipRecord], wild: Path, records: list[ClipRecord], corpus: Path,
                  n_boot: int, seed: int = 0) -> dict:
    """The long-recording measures (module docstring) for the clean wild clips ``reals`` and the ``records`` of the
    fakes' corpus folder ``corpus``; ``{}`` when the extracted packages are not there."""
    rate = detector.sample_rate
    paths = {r.source_id: _recording_path(wild, r) for r in reals}
    if not all(p.is_file() for p in paths.values()):
        return {}
    audio: dict[Path, np.ndarray] = {}
    for p in dict.fromkeys(paths.values()):
        wave, _ = read_audio(p, rate)
        if len(wave) >= LONG_S * rate and np.any(np.abs(wave) >= SILENCE_PEAK):
            audio[p] = wave

    def decide(wave: np.ndarray) -> tuple[float, float, list[float]]:
        windows = detector.predict_windows(wave)[0]
        return detector.clip_score(windows), max(windows), windows

    t = detector.threshold
    whole = {p: decide(w) for p, w in audio.items()}
    names = [str(p) for p in whole]
    corrected = np.array([c for c, _, _ in whole.values()]) >= t
    plain = np.array([m for _, m, _ in whole.values()]) >= t
    window_calls = [np.array(w) >= t for _, _, w in whole.values()]
    windows_flat = np.concatenate(window_calls) if window_calls else np.zeros(0, bool)
    window_names = [n for n, w in zip(names, window_calls, strict=True) for _ in w]
    out = {"min_seconds": LONG_S, "tail_scale": detector.tail_scale,
           "median_seconds": float(np.median([len(w) / rate for w in audio.values()])) if audio else float("nan"),
           "reals_called_fake": _rate(corrected, names, n_boot, seed),
           "reals_called_fake_plain": _rate(plain, names, n_boot, seed),
           "windows_called_fake": _rate(windows_flat, window_names, n_boot, seed)}

    by_source = {r.source_id: r for r in reals}
    real_of = {r.source_id: r for r in records if r.label == 0}
    labels, corrected_s, plain_s, groups = [], [], [], []
    for r in records:
        clean = by_source.get(r.source_id)
        if r.label != 1 or clean is None or paths[r.source_id] not in audio or r.source_id not in real_of:
            continue
        recording = audio[paths[r.source_id]]
        for label, rec in ((0, real_of[r.source_id]), (1, r)):
            clip, _ = read_audio(rec.resolve_audio(corpus), rate)
            c, m, _ = decide(_put_back(recording, clip, clean.extra["start_s"], rate))
            labels.append(label)
            corrected_s.append(c)
            plain_s.append(m)
            groups.append(str(paths[r.source_id]))
    if labels:
        y = np.array(labels)
        out["fakes_put_back"] = separation(y, np.array(corrected_s), t, groups, n_boot, seed)
        out["fakes_put_back_plain"] = separation(y, np.array(plain_s), t, groups, n_boot, seed)
    return out


def _pieces(n: int, rate: int, seconds: float, record: ClipRecord) -> list[tuple[int, int]]:
    """Non-overlapping pieces of a real clip; for a fake, the piece centred on its first labelled region."""
    size = round(seconds * rate)
    if n < size:
        return []
    if record.label == 0 or not record.segments:
        return [(k * size, (k + 1) * size) for k in range(n // size)]
    middle = round(sum(record.segments[0]) / 2 * rate)
    start = min(max(0, middle - size // 2), n - size)
    return [(start, start + size)]


def evaluate_short(detector: Detector, reals: list[ClipRecord], wild: Path, reference_test: list[ClipRecord],
                   reference: Path, n_boot: int, seed: int = 0) -> dict:
    """The short-clip measures (module docstring), per piece length, for the clean wild clips ``reals`` and the test
    split ``reference_test`` of the demo corpus folder ``reference``."""
    rate, t = detector.sample_rate, detector.threshold
    sets = {"wild_reals": (reals, wild),
            "demo_reals": ([r for r in reference_test if r.label == 0], reference),
            "demo_fakes": ([r for r in reference_test if r.label == 1], reference)}
    waves = {name: [(r, read_audio(r.resolve_audio(root), rate)[0]) for r in records]
             for name, (records, root) in sets.items()}
    out: dict = {}
    for seconds in SHORT_S:
        row = {}
        for name, items in waves.items():
            called, groups = [], []
            for r, wave in items:
                for a, b in _pieces(len(wave), rate, seconds, r):
                    called.append(detector.detect_wave(wave[a:b]).score >= t)
                    groups.append(r.extra.get("source_path", r.id))
            row[name] = _rate(np.array(called, dtype=bool), groups, n_boot, seed)
        out[f"{seconds:g}"] = row
    return out


def _pct(m: dict) -> str:
    if m["value"] is None or np.isnan(m["value"]):
        return "–"
    ci = "" if np.isnan(m["ci_low"]) else f" [{100 * m['ci_low']:.1f}, {100 * m['ci_high']:.1f}]"
    return f"{100 * m['value']:.1f}{ci}"


def wild_markdown(results: dict[str, dict]) -> str:
    """Tables of ``{system name: evaluate_wild(...)}``: false alarms per variant and per content kind, then
    EER/AUC of wild reals vs their fakes."""
    names = list(results)
    first = next(iter(results.values()))
    fa = first["false_alarms"]
    lines = ["### Wild reals: % called fake at each system's stored threshold [95 % CI over recordings]", "",
             "| group | n clips (recordings) | " + " | ".join(names) + " |", "|---|---|" + "---|" * len(names)]
    rows = [("all variants", ("all",))] + [(f"variant {v}", ("by_variant", v)) for v in fa["by_variant"]]
    rows += [(f"content {c} (clean)", ("by_content_clean", c)) for c in fa["by_content_clean"]]
    rows += [(f"content {c} (all variants)", ("by_content_all_variants", c)) for c in fa["by_content_all_variants"]]

    def get(res: dict, path: tuple[str, ...]) -> dict:
        node = res["false_alarms"]
        for key in path:
            node = node[key]
        return node

    for label, path in rows:
        ref = get(first, path)
        lines.append(f"| {label} | {ref['n']} ({ref['n_recordings']}) | "
                     + " | ".join(_pct(get(results[n], path)) for n in names) + " |")
    lines += ["", "### Wild reals vs their weight-free fakes (`import-sources` + `build`, every clip scored)", "",
              "| group | n fake/real (recordings) | " + " | ".join(f"{n} EER % | {n} AUC" for n in names) + " |",
              "|---|---|" + "---|---|" * len(names)]
    for group, ref in first["fakes"].items():
        if group == "corpus":
            continue
        cells = []
        for n in names:
            m = results[n]["fakes"].get(group)
            cells += ["–", "–"] if m is None else [
                _pct(m["eer"]), f"{m['auc']['value']:.3f} [{m['auc']['ci_low']:.3f}, {m['auc']['ci_high']:.3f}]"]
        lines.append(f"| {group} | {ref['n_fake']}/{ref['n_real']} ({ref['n_recordings']}) | " + " | ".join(cells)
                     + " |")
    if all("reals_vs_reference_fakes" in results[n] for n in names):
        lines += ["", "### Threshold-free false alarms: clean wild reals vs the demo test split's fakes", "",
                  "| measure | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
        for key, label in (("eer", "EER %"), ("auc", "AUC"), ("fpr", "wild reals called fake %"),
                           ("fnr", "demo fakes called real %")):
            cells = [_pct(results[n]["reals_vs_reference_fakes"][key]) if key != "auc" else
                     "{value:.3f} [{ci_low:.3f}, {ci_high:.3f}]".format(**results[n]["reals_vs_reference_fakes"][key])
                     for n in names]
            lines.append(f"| {label} | " + " | ".join(cells) + " |")
    if all(results[n].get("long") for n in names):
        long0 = first["long"]
        lines += ["", f"### Long recordings (wild recordings of {long0['min_seconds']:.0f} s or more, scored whole; "
                  f"median {long0['median_seconds']:.0f} s)", "",
                  "| measure | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
        measures = [
            (f"reals called fake %, stored decision (length-corrected; n={long0['reals_called_fake']['n']})",
             lambda r: _pct(r["reals_called_fake"])),
            ("reals called fake %, plain largest window", lambda r: _pct(r["reals_called_fake_plain"])),
            (f"their {long0['windows_called_fake']['n']} windows called fake %",
             lambda r: _pct(r["windows_called_fake"])),
        ]
        if "fakes_put_back" in long0:
            fb = long0["fakes_put_back"]
            for key, label in (("fakes_put_back", "corrected"), ("fakes_put_back_plain", "plain")):
                measures += [
                    (f"fakes put back into their recordings ({fb['n_fake']} vs {fb['n_real']}), {label}: EER %",
                     lambda r, k=key: _pct(r[k]["eer"])),
                    (f"... {label}: long reals called fake % / long fakes called real %",
                     lambda r, k=key: f"{_pct(r[k]['fpr'])} / {_pct(r[k]['fnr'])}"),
                ]
        for label, cell in measures:
            lines.append(f"| {label} | " + " | ".join(cell(results[n]["long"]) for n in names) + " |")
    if all(results[n].get("short") for n in names):
        lines += ["", "### Short clips: pieces of the clean wild clips and of the demo test split, at the stored "
                  "threshold", "", "| piece | " + " | ".join(
                      f"{n}: wild reals called fake % | {n}: demo reals called fake % | {n}: demo fakes found %"
                      for n in names) + " |", "|---|" + "---|---|---|" * len(names)]
        for seconds in first["short"]:
            cells = []
            for n in names:
                row = results[n]["short"][seconds]
                cells += [f"{_pct(row['wild_reals'])} (n={row['wild_reals']['n']})",
                          f"{_pct(row['demo_reals'])} (n={row['demo_reals']['n']})",
                          f"{_pct(row['demo_fakes'])} (n={row['demo_fakes']['n']})"]
            lines.append(f"| {seconds} s | " + " | ".join(cells) + " |")
    lines += ["", "Thresholds: " + ", ".join(f"{n} {results[n]['threshold']:.3f}" for n in names) + ". "
              "A manipulation's group is its fakes plus every real clip of the corpus."]
    return "\n".join(lines) + "\n"
